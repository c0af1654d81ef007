/** The run capability's part of activation: the `agentfense` task type and the Sandboxes view. */
import * as vscode from 'vscode';
import type { Ctx } from '../context';
import { SandboxesTreeProvider } from './sandboxesView';
import { registerTaskProvider } from './taskProvider';

/** Returns the Sandboxes view, which its commands refresh. */
export function registerRun(ctx: Ctx): SandboxesTreeProvider {
  registerTaskProvider(ctx);
  const sandboxes = new SandboxesTreeProvider(ctx);
  ctx.push(
    vscode.window.createTreeView('agentfense.sandboxes', { treeDataProvider: sandboxes, showCollapseAll: true }),
  );
  return sandboxes;
}
