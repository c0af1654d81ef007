/** Registers the views of the AgentFense container, the Explorer preview and the change review. */
import * as vscode from 'vscode';
import { registerPermissionDecorations } from './presets/permissionDecorations';
import { PresetsTreeProvider } from './presets/presetsView';
import { registerSandboxCommands, SandboxesTreeProvider } from './run/sandboxesView';
import { registerReviewCommands } from './review/reviewCommands';
import { ReviewController } from './review/reviewController';
import type { Ctx } from './context';

export function registerViews(ctx: Ctx): { presets: PresetsTreeProvider; sandboxes: SandboxesTreeProvider; review: ReviewController } {
  const presets = new PresetsTreeProvider(ctx);
  ctx.push(vscode.window.createTreeView('agentfense.presets', { treeDataProvider: presets, showCollapseAll: true }));
  const sandboxes = new SandboxesTreeProvider(ctx);
  ctx.push(vscode.window.createTreeView('agentfense.sandboxes', { treeDataProvider: sandboxes, showCollapseAll: true }));
  registerSandboxCommands(ctx, sandboxes);
  registerPermissionDecorations(ctx);
  const review = new ReviewController(ctx);
  ctx.push(review);
  registerReviewCommands(ctx, review);
  return { presets, sandboxes, review };
}
