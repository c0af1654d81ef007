/**
 * Switching the preset switches the workspace's sandboxes: per folder, the core's provisioner
 * stops the running ones made for another preset (one with an open session keeps running), so
 * they do not pile up in the Sandboxes view holding memory; each starts again when its preset is
 * used.
 */
import * as vscode from 'vscode';
import type { Ctx } from '../context';
import { rootOf } from '../workspaceRoots';

/** Returns how many sandboxes were stopped. */
export async function stopOtherPresetSandboxes(ctx: Ctx, preset: string): Promise<number> {
  // Not connected: nothing of ours runs that this window knows of, and no server is started for it.
  if (ctx.connection.state !== 'connected') return 0;
  let stopped = 0;
  for (const folder of vscode.workspace.workspaceFolders ?? []) {
    const { index } = await ctx.baselines.of(rootOf(folder)).current();
    if (index) stopped += await ctx.sandboxes.stopOtherPresets(index.codebaseId, preset);
  }
  return stopped;
}
