/**
 * Switching the preset switches the workspace's sandbox: the running sandboxes of this
 * workspace made for another preset are stopped, so they do not pile up in the Sandboxes view
 * holding memory. One with an open session (a sandbox terminal) is left running; a stopped one
 * starts again when its preset is chosen and used again.
 */
import * as vscode from 'vscode';
import { LABEL_CLIENT, LABEL_FOLDER, LABEL_PRESET } from '../../core/run/sandboxProvisioner';
import { CLIENT, type Ctx } from '../context';
import { rootOf } from '../workspaceRoots';

/** Returns how many sandboxes were stopped. */
export async function stopOtherPresetSandboxes(ctx: Ctx, preset: string): Promise<number> {
  // Not connected: nothing of ours runs that this window knows of, and no server is started for it.
  if (ctx.connection.state !== 'connected') return 0;
  let stopped = 0;
  for (const folder of vscode.workspace.workspaceFolders ?? []) {
    const { index } = await ctx.baselines.of(rootOf(folder)).current();
    if (!index) continue;
    const { sandboxes } = await ctx.connection.call((c) => c.listSandboxes({ codebaseId: index.codebaseId }));
    for (const s of sandboxes) {
      const other =
        s.status === 'running' &&
        s.labels[LABEL_CLIENT] === CLIENT &&
        s.labels[LABEL_FOLDER] === folder.name &&
        s.labels[LABEL_PRESET] !== undefined &&
        s.labels[LABEL_PRESET] !== preset;
      if (!other) continue;
      const sessions = await ctx.connection.call((c) => c.listSessions(s.id));
      if (sessions.some((x) => x.status === 'active')) continue;
      await ctx.connection.call((c) => c.stopSandbox(s.id), { idempotent: true });
      stopped++;
    }
  }
  if (stopped > 0) ctx.sandboxes.fireChanged();
  return stopped;
}
