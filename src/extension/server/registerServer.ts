/** The server capability's part of activation: a changed endpoint, TLS or server path reconnects. */
import * as vscode from 'vscode';
import type { Ctx } from '../context';

export function registerServer(ctx: Ctx): void {
  ctx.push(
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (
        e.affectsConfiguration('agentfense.endpoint') ||
        e.affectsConfiguration('agentfense.tls') ||
        e.affectsConfiguration('agentfense.server.path')
      ) {
        ctx.connection.reset();
      }
    }),
  );
}
