/** The presets capability's part of activation: the Presets view, the Explorer preview, built-in preset documents. */
import * as vscode from 'vscode';
import type { Ctx } from '../context';
import { registerPermissionDecorations } from './permissionDecorations';
import { registerBuiltinPresetDocuments } from './presetCommands';
import { PresetsTreeProvider } from './presetsView';

export function registerPresets(ctx: Ctx): PresetsTreeProvider {
  registerBuiltinPresetDocuments(ctx);
  const tree = new PresetsTreeProvider(ctx);
  ctx.push(vscode.window.createTreeView('agentfense.presets', { treeDataProvider: tree, showCollapseAll: true }));
  registerPermissionDecorations(ctx);
  return tree;
}
