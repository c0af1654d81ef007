/** A long upload as a cancellable notification that closes when the upload ends. */
import * as vscode from 'vscode';
import type { ProgressRunner } from '../../core/sync/workspaceSync';

export const showUploadProgress: ProgressRunner = (title, task, signal) =>
  Promise.resolve(
    vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title, cancellable: true },
      async (progress, token) => {
        const abort = new AbortController();
        const sub = token.onCancellationRequested(() => abort.abort(new vscode.CancellationError()));
        const forward = () => abort.abort(signal?.reason);
        signal?.addEventListener('abort', forward, { once: true });
        let reported = 0;
        try {
          return await task(({ message, fraction }) => {
            progress.report({ message, increment: (fraction - reported) * 100 });
            reported = fraction;
          }, abort.signal);
        } finally {
          sub.dispose();
          signal?.removeEventListener('abort', forward);
        }
      },
    ),
  );
