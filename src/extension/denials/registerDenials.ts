/** The denials capability's part of activation: the Denials view and the diff's proposed texts. */
import * as vscode from 'vscode';
import type { Ctx } from '../context';
import { DenialsTreeProvider } from './denialsView';
import { PROPOSED_SCHEME, proposedTexts } from './workspaceGrant';

export function registerDenials(ctx: Ctx): DenialsTreeProvider {
  const tree = new DenialsTreeProvider(ctx.denials);
  const view = vscode.window.createTreeView('agentfense.denials', { treeDataProvider: tree });
  const count = () => ctx.denials.runs.reduce((n, r) => n + r.denials.denials.length, 0);
  ctx.push(
    view,
    vscode.workspace.registerTextDocumentContentProvider(PROPOSED_SCHEME, proposedTexts),
    ctx.denials.onDidChange(() => {
      tree.refresh();
      const n = count();
      view.badge = n ? { value: n, tooltip: `${n} refused access${n === 1 ? '' : 'es'}` } : undefined;
    }),
  );
  return tree;
}
