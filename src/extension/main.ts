/**
 * Entry point: builds the shared context and hands it to each feature. Nothing connects to a
 * server here; the embedded server starts on first use.
 */
import * as vscode from 'vscode';
import { registerServerCommands } from './commands';
import { Ctx } from './context';
import { registerEnvironmentCommand } from './server/environmentCommand';
import { registerPresetCommands } from './presets/presetCommands';
import { registerRunCommands } from './run/runCommand';
import { registerSessionTerminal } from './run/sessionTerminal';
import { registerStatusBar } from './statusBar';
import { registerTaskProvider } from './run/taskProvider';
import { registerViews } from './views';

let ctx: Ctx | undefined;

/** What activate returns: used by the in-editor tests. */
export interface AgentFenseApi {
  readonly ctx: Ctx;
  readonly views: ReturnType<typeof registerViews>;
}

export async function activate(context: vscode.ExtensionContext): Promise<AgentFenseApi> {
  ctx = new Ctx(context);
  context.subscriptions.push(ctx);
  registerServerCommands(ctx);
  registerEnvironmentCommand(ctx);
  registerPresetCommands(ctx);
  registerRunCommands(ctx);
  registerTaskProvider(ctx);
  registerSessionTerminal(ctx);
  const views = registerViews(ctx);
  registerStatusBar(ctx);
  await ctx.presets.reload();
  return { ctx, views };
}

export function deactivate(): void {
  // The embedded server is shared with other windows and keeps running.
  ctx = undefined;
}
