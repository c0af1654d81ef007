/**
 * The review capability's part of activation: the AgentFense source control, refreshed after
 * runs, uploads and reconnects, and asked before an upload overwrites unreviewed changes.
 */
import * as vscode from 'vscode';
import type { Ctx } from '../context';
import { ReviewController } from './reviewController';

/** Returns the controller the review commands act on. */
export function registerReview(ctx: Ctx): ReviewController {
  const controller = new ReviewController(ctx);
  ctx.push(controller);
  ctx.refreshReview = (folder) => controller.refresh(folder);
  ctx.sync.guard = (folder, overwritten) => confirmUploadOverPending(controller, folder, overwritten);
  ctx.push(
    ctx.connection.onDidChangeState((s) => {
      if (s === 'connected') void controller.refreshAll();
    }),
  );
  return controller;
}

/** Before an upload replaces files the sandbox changed and nobody reviewed, ask. */
async function confirmUploadOverPending(controller: ReviewController, folder: vscode.WorkspaceFolder, overwritten: string[] | 'all'): Promise<boolean> {
  const review = controller.all.find((r) => r.folder.uri.toString() === folder.uri.toString());
  if (!review || review.changes.length === 0) return true;
  const pending = overwritten === 'all' ? review.changes.map((c) => c.path) : review.changes.map((c) => c.path).filter((p) => overwritten.includes(p));
  if (pending.length === 0) return true;
  const list = pending.slice(0, 5).join(', ') + (pending.length > 5 ? ` and ${pending.length - 5} more` : '');
  const choice = await vscode.window.showWarningMessage(
    overwritten === 'all'
      ? `Uploading ${folder.name} needs a new codebase, which drops ${pending.length} sandbox change${pending.length === 1 ? '' : 's'} you have not reviewed.`
      : `Uploading replaces ${pending.length} file${pending.length === 1 ? '' : 's'} the sandbox changed and you have not reviewed: ${list}.`,
    { modal: true },
    'Review Changes',
    'Upload Anyway',
  );
  if (choice === 'Review Changes') await vscode.commands.executeCommand('workbench.view.scm');
  return choice === 'Upload Anyway';
}
