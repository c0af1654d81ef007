/** Connection and server commands: connect, restart the embedded server, set the remote token. */
import * as vscode from 'vscode';
import type { Ctx } from '../context';
import { TOKEN_SECRET_KEY } from './connection';

export async function connect(ctx: Ctx): Promise<void> {
  ctx.connection.reset();
  await vscode.window.withProgress({ location: vscode.ProgressLocation.Window, title: 'AgentFense: connecting' }, () =>
    ctx.connection.getClient(),
  );
  vscode.window.setStatusBarMessage('$(shield) AgentFense: connected', 3000);
}

export async function restartServer(ctx: Ctx): Promise<void> {
  if (!ctx.connection.isEmbedded) {
    void vscode.window.showInformationMessage(
      'AgentFense uses the remote server in agentfense.endpoint; reconnecting to it instead.',
    );
    ctx.connection.reset();
    await ctx.connection.getClient();
    return;
  }
  await vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: 'AgentFense: restarting the embedded server' },
    () => ctx.connection.restartServer(),
  );
}

export async function setServerToken(ctx: Ctx): Promise<void> {
  const token = await vscode.window.showInputBox({
    title: 'AgentFense server token',
    prompt:
      'Sent as a bearer token to the server in agentfense.endpoint. Stored in the OS keychain (SecretStorage). Leave empty to remove it.',
    password: true,
    ignoreFocusOut: true,
  });
  if (token === undefined) return;
  if (token.trim() === '') await ctx.extension.secrets.delete(TOKEN_SECRET_KEY);
  else await ctx.extension.secrets.store(TOKEN_SECRET_KEY, token.trim());
  ctx.connection.reset();
  void vscode.window.showInformationMessage(token.trim() ? 'AgentFense: token saved.' : 'AgentFense: token removed.');
}
