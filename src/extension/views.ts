/** Registers the views of the AgentFense container. */
import * as vscode from 'vscode';
import { PresetsTreeProvider } from '../views/presetsView';
import type { Ctx } from './context';

export function registerViews(ctx: Ctx): void {
  const presets = new PresetsTreeProvider(ctx);
  ctx.push(vscode.window.createTreeView('agentfense.presets', { treeDataProvider: presets, showCollapseAll: true }));
}
