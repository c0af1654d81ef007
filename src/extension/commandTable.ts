/**
 * Every command the extension contributes (package.json `contributes.commands`) next to its
 * handler: the one place that says which id runs which code. The handlers live in their
 * capability's folder. test/unit/extension-command-table.test.ts reads this table (without
 * loading vscode) and checks it against package.json: one handler per contributed command.
 */
import { connectAgent } from './agents/connectAgent';
import type { Ctx } from './context';
import { duplicatePreset, revealRuleSource, selectPreset, usePreset } from './presets/presetCommands';
import type { PresetNode } from './presets/presetsView';
import { togglePermissionPreview } from './presets/permissionDecorations';
import { allowDenialForWorkspace, allowOnce, openDenialRule } from './denials/denialCommands';
import type { DenialNode } from './denials/denialsView';
import {
  accept,
  acceptAll,
  acceptFolder,
  discard,
  discardAll,
  openDiff,
  openFiles,
  refreshReviews,
  showChanges,
} from './review/reviewCommands';
import type { ChangeResourceState, ReviewController } from './review/reviewController';
import { forgetTestCommand, runCommandInSandbox, runTestsInSandbox, type SandboxArg } from './run/runCommand';
import {
  changeSandbox,
  deleteCodebase,
  refreshSandboxes,
  type CodebaseArgNode,
  type SandboxArgNode,
  type SandboxesTreeProvider,
} from './run/sandboxesView';
import { openTerminal, type SessionTarget } from './run/sessionTerminal';
import { checkEnvironment } from './server/environmentCommand';
import { connect, restartServer, setServerToken } from './server/serverCommands';
import { uploadWorkspace } from './upload/uploadCommand';
import { setCloudApiKey } from './cloud/cloudKey';

/** What handlers act on: the context, and the views and state that commands change. */
export interface CommandTargets {
  readonly ctx: Ctx;
  readonly sandboxes: SandboxesTreeProvider;
  readonly review: ReviewController;
}

/** The arguments after the targets are what the caller passed (a menu's node, executeCommand's). */
type Handler = (targets: CommandTargets, ...args: never[]) => unknown;

export const COMMAND_TABLE = {
  // server/: the connection, the embedded server, the host check
  'agentfense.connect': ({ ctx }) => connect(ctx),
  'agentfense.restartServer': ({ ctx }) => restartServer(ctx),
  'agentfense.showServerLog': ({ ctx }) => ctx.serverLog.show(true),
  'agentfense.showLog': ({ ctx }) => ctx.log.show(true),
  'agentfense.setServerToken': ({ ctx }) => setServerToken(ctx),
  'agentfense.checkEnvironment': ({ ctx }) => checkEnvironment(ctx),

  // cloud/
  'agentfense.setCloudApiKey': ({ ctx }) => setCloudApiKey(ctx),

  // upload/
  'agentfense.uploadWorkspace': ({ ctx }) => uploadWorkspace(ctx),

  // agents/: agents outside VS Code (VS Code's own sees the tools and the MCP server by itself)
  'agentfense.connectAgent': ({ ctx }) => connectAgent(ctx),

  // presets/: the active preset, the Presets view, the Explorer preview
  'agentfense.selectPreset': ({ ctx }) => selectPreset(ctx),
  'agentfense.usePreset': ({ ctx }, arg?: PresetNode | string) => usePreset(ctx, arg),
  'agentfense.refreshPresets': ({ ctx }) => ctx.presets.reload(),
  'agentfense.duplicatePreset': ({ ctx }, arg?: PresetNode | string) => duplicatePreset(ctx, arg),
  'agentfense.revealRuleSource': ({ ctx }, node?: PresetNode) => revealRuleSource(ctx, node),
  'agentfense.togglePermissionPreview': ({ ctx }) => togglePermissionPreview(ctx),

  // denials/: what audited runs were refused, and the grants that let them through
  'agentfense.denials.openRule': ({ ctx }, node?: DenialNode) => openDenialRule(ctx, node),
  'agentfense.denials.allowOnce': ({ ctx }, node?: DenialNode) => allowOnce(ctx, node),
  'agentfense.denials.allowForWorkspace': ({ ctx }, node?: DenialNode) => allowDenialForWorkspace(ctx, node),
  'agentfense.denials.clear': ({ ctx }) => ctx.denials.clear(),

  // run/: commands, tests, terminals, the Sandboxes view
  'agentfense.runCommand': ({ ctx }, arg?: SandboxArg | string) => runCommandInSandbox(ctx, arg),
  'agentfense.runTests': ({ ctx }) => runTestsInSandbox(ctx),
  'agentfense.forgetTestCommand': ({ ctx }) => forgetTestCommand(ctx),
  'agentfense.openTerminal': ({ ctx }, arg?: Partial<SessionTarget>) => openTerminal(ctx, arg),
  'agentfense.refreshSandboxes': ({ ctx, sandboxes }) => refreshSandboxes(ctx, sandboxes),
  'agentfense.startSandbox': ({ ctx, sandboxes }, node?: SandboxArgNode) =>
    changeSandbox(ctx, sandboxes, node, 'start'),
  'agentfense.stopSandbox': ({ ctx, sandboxes }, node?: SandboxArgNode) => changeSandbox(ctx, sandboxes, node, 'stop'),
  'agentfense.destroySandbox': ({ ctx, sandboxes }, node?: SandboxArgNode) =>
    changeSandbox(ctx, sandboxes, node, 'destroy'),
  'agentfense.deleteCodebase': ({ ctx, sandboxes }, node?: CodebaseArgNode) => deleteCodebase(ctx, sandboxes, node),

  // review/: the AgentFense source control
  'agentfense.showChanges': ({ review }) => showChanges(review),
  'agentfense.review.refresh': ({ review }) => refreshReviews(review),
  'agentfense.review.openDiff': ({ ctx, review }, state?: ChangeResourceState) => state && openDiff(ctx, review, state),
  'agentfense.review.openFile': (_targets, ...states: ChangeResourceState[]) => openFiles(...states),
  'agentfense.review.accept': ({ ctx, review }, ...states: unknown[]) => accept(ctx, review, ...states),
  'agentfense.review.discard': ({ ctx }, ...states: unknown[]) => discard(ctx, ...states),
  'agentfense.review.acceptAll': ({ ctx, review }, arg?: unknown) => acceptAll(ctx, review, arg),
  'agentfense.review.discardAll': ({ ctx, review }, arg?: unknown) => discardAll(ctx, review, arg),
  'agentfense.review.acceptFolder': ({ ctx, review }, ...args: unknown[]) => acceptFolder(ctx, review, ...args),
} satisfies Record<string, Handler>;

export type CommandId = keyof typeof COMMAND_TABLE;

/** Registers every command of the table; a failing handler shows a message (Ctx.registerCommand). */
export function registerCommandTable(targets: CommandTargets): void {
  for (const [id, handler] of Object.entries(COMMAND_TABLE) as [CommandId, Handler][]) {
    targets.ctx.registerCommand(id, (...args: never[]) => handler(targets, ...args));
  }
}
