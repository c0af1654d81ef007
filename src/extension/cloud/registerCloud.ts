/** The cloud backend in the window: the leftover sweep at start, and a reload when the backend setting changes. */
import * as vscode from 'vscode';
import { affects } from '../config';
import type { Ctx } from '../context';
import { sweepOrphans } from './cloudLifecycle';

export function registerCloud(ctx: Ctx): void {
  ctx.push(
    vscode.workspace.onDidChangeConfiguration(async (e) => {
      // The backend is chosen once per window (the codebases and sandboxes of one are not the other's).
      if (!affects(e, 'backend')) return;
      const choice = await vscode.window.showInformationMessage(
        'AgentFense: the sandbox backend changed; reload the window to use it.',
        'Reload Window',
      );
      if (choice === 'Reload Window') void vscode.commands.executeCommand('workbench.action.reloadWindow');
    }),
  );
  if (ctx.cloud) void sweepOrphans(ctx, ctx.cloud);
}
