/** "AgentFense: Check Environment": runs the host check and opens its report. */
import * as vscode from 'vscode';
import type { Ctx } from '../context';
import { runEnvironmentCheck } from './environmentCheck';
import { environmentReportMarkdown } from './environmentReport';

export async function checkEnvironment(ctx: Ctx): Promise<void> {
  const readiness = await vscode.window.withProgress(
    {
      location: vscode.ProgressLocation.Notification,
      title: 'AgentFense: checking whether this host can run sandboxes…',
      cancellable: true,
    },
    (_progress, token) => {
      const abort = new AbortController();
      token.onCancellationRequested(() => abort.abort());
      return runEnvironmentCheck({
        nodePath: process.execPath,
        serverScript: ctx.connection.serverScript,
        // As the embedded server is started: the same PATH finds the same bwrap.
        env: { ...process.env, ELECTRON_RUN_AS_NODE: '1' },
        signal: abort.signal,
      });
    },
  );
  const content = environmentReportMarkdown(readiness, {
    endpoint: ctx.config.endpoint || undefined,
    checkedAt: new Date(),
  });
  const doc = await vscode.workspace.openTextDocument({ language: 'markdown', content });
  await vscode.window.showTextDocument(doc, { preview: false });
  ctx.log.info(
    `Environment check: ${readiness.ready ? 'ready' : 'not ready'} (${readiness.checks.map((c) => `${c.id}=${c.status}`).join(', ')})`,
  );
}
