/** Before an upload replaces files the sandbox changed and nobody reviewed, ask. */
import * as vscode from 'vscode';
import type { OverwriteConfirmation } from '../../core/sync/workspaceSync';

export const confirmUploadOverPending: OverwriteConfirmation = async (root, pending, freshCodebase) => {
  const list = pending.slice(0, 5).join(', ') + (pending.length > 5 ? ` and ${pending.length - 5} more` : '');
  const choice = await vscode.window.showWarningMessage(
    freshCodebase
      ? `Uploading ${root.name} needs a new codebase, which drops ${pending.length} sandbox change${pending.length === 1 ? '' : 's'} you have not reviewed.`
      : `Uploading replaces ${pending.length} file${pending.length === 1 ? '' : 's'} the sandbox changed and you have not reviewed: ${list}.`,
    { modal: true },
    'Review Changes',
    'Upload Anyway',
  );
  if (choice === 'Review Changes') await vscode.commands.executeCommand('workbench.view.scm');
  return choice === 'Upload Anyway';
};
