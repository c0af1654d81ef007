/**
 * Entry point: builds the shared context, adds each capability to the window (its views,
 * providers and state) and registers the command table. Nothing connects to a server here;
 * the embedded server starts on first use.
 */
import * as vscode from 'vscode';
import { registerCommandTable } from './commandTable';
import { Ctx } from './context';
import { registerAgents } from './agents/registerAgents';
import { mcpServerDefinitions } from './agents/mcpServerDefinition';
import { registerPresets } from './presets/registerPresets';
import type { PresetsTreeProvider } from './presets/presetsView';
import { registerReview } from './review/registerReview';
import type { ReviewController } from './review/reviewController';
import { registerRun } from './run/registerRun';
import { registerDenials } from './denials/registerDenials';
import type { SandboxesTreeProvider } from './run/sandboxesView';
import type { DenialsTreeProvider } from './denials/denialsView';
import { registerServer } from './server/registerServer';
import { openWalkthroughOnce } from './firstRunWalkthrough';
import { restoreWorkspace } from './restoreWorkspace';
import { registerStatusBar } from './statusBar';
import { registerCloud } from './cloud/registerCloud';
import { killHeldSandboxes } from './cloud/cloudLifecycle';

let ctx: Ctx | undefined;

/** What activate returns: used by the in-editor tests. */
export interface AgentFenseApi {
  readonly ctx: Ctx;
  readonly views: {
    presets: PresetsTreeProvider;
    sandboxes: SandboxesTreeProvider;
    review: ReviewController;
    denials: DenialsTreeProvider;
  };
  /** The MCP servers VS Code's agent is offered (what the provider answers). */
  mcpServerDefinitions(): vscode.McpStdioServerDefinition[];
}

export async function activate(context: vscode.ExtensionContext): Promise<AgentFenseApi> {
  ctx = new Ctx(context);
  context.subscriptions.push(ctx);
  registerServer(ctx);
  registerCloud(ctx);
  const views = {
    presets: registerPresets(ctx),
    sandboxes: registerRun(ctx),
    review: registerReview(ctx),
    denials: registerDenials(ctx),
  };
  registerCommandTable({ ctx, sandboxes: views.sandboxes, review: views.review });
  registerStatusBar(ctx);
  await ctx.presets.reload();
  registerAgents(ctx);
  void restoreWorkspace(ctx, views.review);
  void openWalkthroughOnce(context, ctx.config.openWalkthroughOnFirstRun);
  const shared = ctx;
  return { ctx, views, mcpServerDefinitions: () => mcpServerDefinitions(shared) };
}

export async function deactivate(): Promise<void> {
  // The embedded server is shared with other windows and keeps running; cloud sandboxes cost
  // money, so the running ones this window holds end with it (paused ones are kept).
  const cloud = ctx?.cloud;
  ctx = undefined;
  if (cloud) await killHeldSandboxes(cloud).catch(() => undefined);
}
