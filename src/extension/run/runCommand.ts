/**
 * "Run Command in Sandbox…" and "Run Tests in Sandbox": ask what to run, then show it in a
 * SandboxRunTerminal. After the run the change review refreshes.
 */
import * as vscode from 'vscode';
import type { Ctx } from '../context';
import { SandboxRunTerminal, type RunOutcome, type RunSpec } from './sandboxTerminal';
import { detectTestCommand } from './testCommandDetection';

const HISTORY_KEY = 'agentfense.commandHistory';
const HISTORY_LIMIT = 20;
const TEST_COMMAND_KEY = 'agentfense.testCommand';

/** A command picker: type a new command, or pick one of the last 20. */
export async function askCommand(ctx: Ctx, title = 'Run in the AgentFense sandbox'): Promise<string | undefined> {
  const history = ctx.extension.globalState.get<string[]>(HISTORY_KEY, []);
  const qp = vscode.window.createQuickPick<vscode.QuickPickItem>();
  qp.title = title;
  qp.placeholder = `Command to run in /workspace (preset ${ctx.presets.activeName}); Enter runs it`;
  const historyItems = history.map((h) => ({ label: h, description: 'recent' }));
  qp.items = historyItems;
  qp.onDidChangeValue((v) => {
    qp.items = v.trim()
      ? [{ label: v, description: 'run this command' }, ...historyItems.filter((h) => h.label !== v)]
      : historyItems;
  });
  const picked = await new Promise<string | undefined>((resolve) => {
    qp.onDidAccept(() => resolve(qp.selectedItems[0]?.label ?? (qp.value.trim() || undefined)));
    qp.onDidHide(() => resolve(undefined));
    qp.show();
  });
  qp.dispose();
  const command = picked?.trim();
  if (!command) return undefined;
  await ctx.extension.globalState.update(
    HISTORY_KEY,
    [command, ...history.filter((h) => h !== command)].slice(0, HISTORY_LIMIT),
  );
  return command;
}

export type RunKind = 'command' | 'tests' | 'agent';

/**
 * The last run terminal of each kind. A new run of that kind replaces it once it has finished
 * (a running one is never closed), so finished runs do not pile up as "Press any key" tabs;
 * `agentfense.terminal.reuse: false` keeps one per run.
 */
const lastRun = new Map<RunKind, { terminal: vscode.Terminal; pty: SandboxRunTerminal }>();

export function startRunTerminal(ctx: Ctx, spec: RunSpec, kind: RunKind, name?: string): vscode.Terminal {
  return runInTerminal(ctx, spec, kind, name).terminal;
}

/** A run in a visible terminal, for a caller that waits for its outcome (an agent's tool call). */
export interface VisibleRun {
  terminal: vscode.Terminal;
  outcome: Promise<RunOutcome>;
  /** Stops the command as Ctrl+C does. */
  interrupt(): void;
}

export function runInTerminal(ctx: Ctx, spec: RunSpec, kind: RunKind, name?: string): VisibleRun {
  const previous = lastRun.get(kind);
  if (ctx.config.reuseTerminals && previous?.pty.finished) previous.terminal.dispose();
  let finished!: (outcome: RunOutcome) => void;
  const outcome = new Promise<RunOutcome>((resolve) => (finished = resolve));
  const pty = new SandboxRunTerminal(
    spec,
    (...args) => ctx.provision(...args),
    ctx,
    (o) => {
      ctx.codebaseMayHaveChanged(o.folder, o.pathsMerged);
      if (spec.grant && o.sandboxId) forgetGrantedSandbox(ctx, o.sandboxId);
      // A run allowed once ran under another policy: the preset's denials stay, to allow for good.
      if ((o.denials || o.refusedConnections?.length) && !spec.grant)
        ctx.denials.record({
          folder: o.folder,
          preset: o.preset ?? spec.preset ?? ctx.presets.activeName,
          command: spec.command,
          denials: o.denials ?? { denials: [], dropped: 0 },
          connections: o.refusedConnections ?? [],
          // A granted run needs a sandbox made with the grant: never the one the spec named.
          rerun: (grant) =>
            void runInTerminal(
              ctx,
              grant
                ? { ...spec, sandboxId: undefined, codebaseId: undefined, audit: true, grant }
                : { ...spec, audit: true },
              kind,
              name,
            ),
        });
      // An agent reads its own outcome: no notification (nor Problems) per agent command.
      if (kind !== 'agent')
        ctx.outcomes.report(kind, spec.command, o, terminal, () =>
          runInTerminal(ctx, { ...spec, audit: true }, kind, name),
        );
      finished(o);
    },
  );
  const terminal: vscode.Terminal = vscode.window.createTerminal({
    name: name ?? `AgentFense: ${spec.command.length > 30 ? spec.command.slice(0, 29) + '…' : spec.command}`,
    pty,
    iconPath: new vscode.ThemeIcon('shield'),
  });
  lastRun.set(kind, { terminal, pty });
  // An agent's run shows beside the chat without taking the keyboard from it.
  terminal.show(kind === 'agent');
  return { terminal, outcome, interrupt: () => pty.interrupt() };
}

/** Allow once: the sandbox made for the granted run goes when the run ends (its changes are merged by then). */
function forgetGrantedSandbox(ctx: Ctx, sandboxId: string): void {
  ctx.backend.destroySandbox(sandboxId).then(
    () => ctx.sandboxes.fireChanged(),
    (e: unknown) =>
      ctx.log.warn(
        `Destroying sandbox ${sandboxId}, made for one granted run: ${e instanceof Error ? e.message : String(e)}`,
      ),
  );
}

export interface SandboxArg {
  sandboxId: string;
  codebaseId: string;
  folder?: vscode.WorkspaceFolder;
}

export async function runCommandInSandbox(ctx: Ctx, arg?: SandboxArg | string): Promise<void> {
  const sandboxArg = typeof arg === 'object' && arg && 'sandboxId' in arg ? arg : undefined;
  const folder = sandboxArg?.folder ?? (await ctx.pickFolder());
  if (!folder) return;
  const command = typeof arg === 'string' ? arg : await askCommand(ctx);
  if (!command) return;
  startRunTerminal(
    ctx,
    {
      folder,
      command,
      timeoutMs: ctx.config.defaultTimeoutMs,
      closeOnExit: false,
      sandboxId: sandboxArg?.sandboxId,
      codebaseId: sandboxArg?.codebaseId,
    },
    'command',
  );
}

/** The folder's test command: remembered choice, detection, or asked once. */
export async function testCommandFor(
  ctx: Ctx,
  folder: vscode.WorkspaceFolder,
  { ask = true } = {},
): Promise<string | undefined> {
  const remembered = ctx.extension.workspaceState.get<Record<string, string>>(TEST_COMMAND_KEY, {});
  const known = remembered[folder.uri.toString()];
  if (known) return known;
  const detected = await detectTestCommand(folder.uri.fsPath);
  if (detected) return detected.command;
  if (!ask) return undefined;
  const command = (
    await vscode.window.showInputBox({
      title: `How does ${folder.name} run its tests?`,
      prompt:
        'No test command was detected (package.json, pytest, go.mod, Cargo.toml, Makefile). It will be remembered for this workspace.',
      placeHolder: 'e.g. ./run-tests.sh',
      ignoreFocusOut: true,
    })
  )?.trim();
  if (!command) return undefined;
  await ctx.extension.workspaceState.update(TEST_COMMAND_KEY, { ...remembered, [folder.uri.toString()]: command });
  return command;
}

export async function runTestsInSandbox(ctx: Ctx): Promise<void> {
  const folder = await ctx.pickFolder('Workspace folder whose tests to run');
  if (!folder) return;
  const command = await testCommandFor(ctx, folder);
  if (!command) return;
  startRunTerminal(
    ctx,
    { folder, command, timeoutMs: ctx.config.defaultTimeoutMs, closeOnExit: false },
    'tests',
    `AgentFense: tests (${folder.name})`,
  );
}

export async function forgetTestCommand(ctx: Ctx): Promise<void> {
  await ctx.extension.workspaceState.update(TEST_COMMAND_KEY, {});
  void vscode.window.showInformationMessage('AgentFense: the test command will be detected (or asked) again.');
}
