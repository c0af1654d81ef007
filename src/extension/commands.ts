/** Connection, server and upload commands. */
import * as vscode from 'vscode';
import type { Ctx } from './context';
import { TOKEN_SECRET_KEY } from './server/connection';
import { formatBytes } from './formatBytes';

export function registerServerCommands(ctx: Ctx): void {
  ctx.registerCommand('agentfense.connect', async () => {
    ctx.connection.reset();
    await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Window, title: 'AgentFense: connecting' },
      () => ctx.connection.getClient(),
    );
    vscode.window.setStatusBarMessage('$(shield) AgentFense: connected', 3000);
  });
  ctx.registerCommand('agentfense.restartServer', async () => {
    if (!ctx.connection.isEmbedded) {
      void vscode.window.showInformationMessage('AgentFense uses the remote server in agentfense.endpoint; reconnecting to it instead.');
      ctx.connection.reset();
      await ctx.connection.getClient();
      return;
    }
    await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: 'AgentFense: restarting the embedded server' },
      () => ctx.connection.restartServer(),
    );
  });
  ctx.registerCommand('agentfense.showServerLog', () => ctx.serverLog.show(true));
  ctx.registerCommand('agentfense.showLog', () => ctx.log.show(true));
  ctx.registerCommand('agentfense.setServerToken', async () => {
    const token = await vscode.window.showInputBox({
      title: 'AgentFense server token',
      prompt: 'Sent as a bearer token to the server in agentfense.endpoint. Stored in the OS keychain (SecretStorage). Leave empty to remove it.',
      password: true,
      ignoreFocusOut: true,
    });
    if (token === undefined) return;
    if (token.trim() === '') await ctx.extension.secrets.delete(TOKEN_SECRET_KEY);
    else await ctx.extension.secrets.store(TOKEN_SECRET_KEY, token.trim());
    ctx.connection.reset();
    void vscode.window.showInformationMessage(token.trim() ? 'AgentFense: token saved.' : 'AgentFense: token removed.');
  });
  ctx.registerCommand('agentfense.uploadWorkspace', async () => {
    const folder = await ctx.pickFolder('Workspace folder to upload');
    if (!folder) return;
    const result = await ctx.sync.sync(folder);
    const msg =
      result.uploadedFiles === 0
        ? `AgentFense: ${folder.name} is up to date in codebase ${result.index.codebaseId}.`
        : `AgentFense: uploaded ${result.uploadedFiles} file${result.uploadedFiles === 1 ? '' : 's'} (${formatBytes(result.uploadedBytes)}) of ${folder.name}${result.fresh ? ' into a new codebase' : ''}.`;
    vscode.window.setStatusBarMessage(`$(cloud-upload) ${msg}`, 5000);
    await ctx.refreshReview(folder);
  });

  ctx.push(
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration('agentfense.endpoint') || e.affectsConfiguration('agentfense.tls') || e.affectsConfiguration('agentfense.server.path')) {
        ctx.connection.reset();
      }
    }),
  );
}
