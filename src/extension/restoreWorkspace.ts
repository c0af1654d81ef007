/**
 * After a reload: the review shows the change sets saved last time at once, and a workspace
 * that used sandboxes before reconnects in the background, so the review and the Sandboxes
 * view show what exists instead of "Upload your workspace to start".
 */
import * as vscode from 'vscode';
import type { Ctx } from './context';
import type { ReviewController } from './review/reviewController';
import { rootOf } from './workspaceRoots';

export async function restoreWorkspace(ctx: Ctx, review: ReviewController): Promise<void> {
  await review.restore();
  let usedBefore = false;
  for (const folder of vscode.workspace.workspaceFolders ?? []) {
    if ((await ctx.baselines.of(rootOf(folder)).current()).index) usedBefore = true;
  }
  if (!usedBefore) return;
  if (ctx.cloud) {
    // The codebase is on this machine: the review looks at it without reaching the provider.
    for (const folder of vscode.workspace.workspaceFolders ?? []) ctx.codebaseMayHaveChanged(folder);
    return;
  }
  try {
    // Connected → the review refreshes and the Sandboxes view lists (their connection listeners).
    await ctx.connection.getClient();
  } catch (e) {
    // Not worth a notification at startup: the status bar says so, and the next command retries.
    ctx.log.info(`Not reconnected at startup: ${e instanceof Error ? e.message : String(e)}`);
  }
}
