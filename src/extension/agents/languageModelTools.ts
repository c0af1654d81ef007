/**
 * AgentFense as tools for VS Code's agent (Copilot or any chat participant): `agentfense_run`
 * runs a command in the workspace's sandbox in a visible AgentFense terminal the user can
 * watch and stop, and answers with the exit code, the output and the files that now wait for
 * review; `agentfense_changes` lists those; `agentfense_read` reads a file as the sandbox
 * sees it; `agentfense_request_access` asks the user for an access the preset refuses. Accepting stays the user's act in the review view. The texts the model reads come
 * from the core (agentReport), the same as the MCP server's.
 */
import * as vscode from 'vscode';
import { explainAgentError } from '../../client/agentErrors';
import { describeChanges, describeRun, capText } from '../../core/agent/agentReport';
import { AgentWorkspace, changedPaths, workspaceRelative } from '../../core/agent/agentWorkspace';
import { refreshChanges } from '../../core/review/changeSet';
import type { Ctx } from '../context';
import { rootOf } from '../workspaceRoots';
import { runInTerminal } from '../run/runCommand';
import type { RunSpec } from '../run/sandboxTerminal';
import { allowForWorkspace, ruleEdit } from '../denials/workspaceGrant';
import {
  alreadyAllowed,
  accessQuestion,
  deniedAnswer,
  planAccess,
  type AccessRequest,
} from '../../core/agent/accessRequest';
import { describeGrant } from '../../core/denials/accessGrant';
import { GRANTABLE_LEVELS } from '../../shared/denialWire';

interface RunInput {
  command: string;
  audit?: boolean;
  preset?: string;
  timeoutSeconds?: number;
  cwd?: string;
  folder?: string;
}
interface ReadInput {
  path: string;
  preset?: string;
  folder?: string;
}
interface AccessInput extends AccessRequest {
  folder?: string;
}
interface ChangesInput {
  folder?: string;
}

/** The folder a tool call is about: the one named, else the first. */
function folderFor(name: string | undefined): vscode.WorkspaceFolder {
  const folders = vscode.workspace.workspaceFolders ?? [];
  if (folders.length === 0)
    throw new Error('No folder is open in VS Code: the sandbox runs against a workspace folder.');
  if (!name) return folders[0]!;
  const folder = folders.find((f) => f.name === name);
  if (!folder)
    throw new Error(
      `No workspace folder is named "${name}"; the folders are: ${folders.map((f) => f.name).join(', ')}.`,
    );
  return folder;
}

const result = (text: string) => new vscode.LanguageModelToolResult([new vscode.LanguageModelTextPart(text)]);

/** A failure the model can act on (VS Code hands a thrown error's message to the model). */
async function answer(work: () => Promise<string>): Promise<vscode.LanguageModelToolResult> {
  try {
    return result(await work());
  } catch (e) {
    if (e instanceof vscode.CancellationError) throw e;
    throw new Error(explainAgentError(e));
  }
}

function agentWorkspace(ctx: Ctx, folder: vscode.WorkspaceFolder): AgentWorkspace {
  return new AgentWorkspace({
    backend: ctx.backend,
    provisioner: ctx.sandboxes,
    baselines: ctx.baselines,
    root: rootOf(folder),
    activePreset: () => ctx.presets.activeName,
    ignore: () => ctx.config.ignore,
  });
}

class RunTool implements vscode.LanguageModelTool<RunInput> {
  constructor(private readonly ctx: Ctx) {}

  prepareInvocation(
    options: vscode.LanguageModelToolInvocationPrepareOptions<RunInput>,
  ): vscode.PreparedToolInvocation {
    const { command } = options.input;
    const preset = options.input.preset || this.ctx.presets.activeName;
    const folder = options.input.folder ?? vscode.workspace.workspaceFolders?.[0]?.name ?? '';
    return {
      invocationMessage: new vscode.MarkdownString(`Running \`${command}\` in the AgentFense sandbox (${preset})`),
      confirmationMessages: {
        title: 'Run in the AgentFense sandbox?',
        message: new vscode.MarkdownString(
          `\`\`\`sh\n${command}\n\`\`\`\n\nPreset **${preset}** · folder **${folder}**. ` +
            'It runs on a copy of the workspace; what it writes waits for your review.',
        ),
      },
    };
  }

  invoke(options: vscode.LanguageModelToolInvocationOptions<RunInput>, token: vscode.CancellationToken) {
    return answer(async () => {
      const { command, preset, timeoutSeconds, cwd, audit } = options.input;
      if (typeof command !== 'string' || command.trim() === '')
        throw new Error('`command` must be a non-empty string.');
      return runForAgent(
        this.ctx,
        {
          folder: folderFor(options.input.folder),
          command,
          preset,
          cwd: cwd === undefined ? undefined : workspaceRelative(cwd),
          timeoutMs: timeoutSeconds ? timeoutSeconds * 1000 : this.ctx.config.defaultTimeoutMs,
          closeOnExit: false,
          audit: audit === true,
        },
        token,
      );
    });
  }
}

/** Runs in the visible agent terminal; the text the model reads: outcome, output, changes, denials. */
async function runForAgent(ctx: Ctx, spec: RunSpec, token: vscode.CancellationToken): Promise<string> {
  const baseline = ctx.baselines.of(rootOf(spec.folder));
  const before = baseline.changes;
  const run = runInTerminal(ctx, spec, 'agent', 'AgentFense: agent');
  const cancel = token.onCancellationRequested(() => run.interrupt());
  const outcome = await run.outcome.finally(() => cancel.dispose());
  if (outcome.preset === undefined || outcome.sandboxId === undefined)
    throw new Error(`The command did not start: ${outcome.problem ?? 'no sandbox'}.`);
  const pending = await refreshChanges(ctx.backend, baseline, { ignore: ctx.config.ignore, showIgnored: false });
  return describeRun(spec.command, {
    stdout: outcome.output,
    stderr: '',
    combinedOutput: true,
    exitCode: outcome.exitCode,
    durationMs: outcome.durationMs,
    problem: outcome.problem,
    preset: outcome.preset,
    sandboxId: outcome.sandboxId,
    pending,
    changedByRun: changedPaths(before, pending),
    denials: outcome.denials,
    refusedConnections: outcome.refusedConnections,
  });
}

/**
 * The agent asks for an access the preset refuses; the user answers in a notification (Allow
 * Once runs the agent's command with it; Allow for Workspace writes the rule, diff first).
 */
class RequestAccessTool implements vscode.LanguageModelTool<AccessInput> {
  constructor(private readonly ctx: Ctx) {}

  prepareInvocation(
    options: vscode.LanguageModelToolInvocationPrepareOptions<AccessInput>,
  ): vscode.PreparedToolInvocation {
    return {
      invocationMessage: new vscode.MarkdownString(
        `Asking you for ${options.input.access} access to \`${options.input.path}\` in the AgentFense sandbox`,
      ),
    };
  }

  invoke(options: vscode.LanguageModelToolInvocationOptions<AccessInput>, token: vscode.CancellationToken) {
    return answer(async () => {
      const req = options.input;
      if (!GRANTABLE_LEVELS.includes(req.access)) throw new Error('`access` must be view, read or write.');
      if (typeof req.path !== 'string' || typeof req.reason !== 'string' || req.reason.trim() === '')
        throw new Error('`path` and a `reason` for the user are required.');
      const folder = folderFor(req.folder);
      const preset = this.ctx.presets.activeName;
      const plan = planAccess(req, this.ctx.presets.catalog.rulesOf(preset));
      if (plan.kind === 'allowed') return alreadyAllowed(plan, preset);
      const once = 'Allow Once';
      const always = 'Allow for Workspace';
      const deny = 'Deny';
      const choices = req.command ? [once, always, deny] : [always, deny];
      const picked = await untilCancelled(
        vscode.window.showWarningMessage(`AgentFense: ${accessQuestion(req, plan.grant, preset)}`, ...choices),
        token,
      );
      if (picked === once)
        return runForAgent(
          this.ctx,
          {
            folder,
            command: req.command!,
            closeOnExit: false,
            audit: true,
            grant: plan.grant,
            timeoutMs: this.ctx.config.defaultTimeoutMs,
          },
          token,
        );
      if (picked !== always) return deniedAnswer(plan.grant);
      if (!(await allowForWorkspace(this.ctx, { folder, preset }, ruleEdit(plan.grant))))
        return deniedAnswer(plan.grant);
      const note = `The user allowed ${describeGrant(plan.grant)} for this workspace (preset "${this.ctx.presets.activeName}").`;
      if (!req.command) return note;
      return `${note}\n${await runForAgent(this.ctx, { folder, command: req.command, closeOnExit: false, audit: true, timeoutMs: this.ctx.config.defaultTimeoutMs }, token)}`;
    });
  }
}

function untilCancelled<T>(answer: Thenable<T>, token: vscode.CancellationToken): Promise<T | undefined> {
  return new Promise((resolve) => {
    const sub = token.onCancellationRequested(() => resolve(undefined));
    void answer.then((v) => {
      sub.dispose();
      resolve(v);
    });
  });
}

class ChangesTool implements vscode.LanguageModelTool<ChangesInput> {
  constructor(private readonly ctx: Ctx) {}

  invoke(options: vscode.LanguageModelToolInvocationOptions<ChangesInput>) {
    return answer(async () =>
      describeChanges(await agentWorkspace(this.ctx, folderFor(options.input.folder)).pendingChanges()),
    );
  }
}

class ReadTool implements vscode.LanguageModelTool<ReadInput> {
  constructor(private readonly ctx: Ctx) {}

  prepareInvocation(
    options: vscode.LanguageModelToolInvocationPrepareOptions<ReadInput>,
  ): vscode.PreparedToolInvocation {
    return {
      invocationMessage: new vscode.MarkdownString(`Reading \`${options.input.path}\` in the AgentFense sandbox`),
    };
  }

  invoke(options: vscode.LanguageModelToolInvocationOptions<ReadInput>) {
    return answer(async () => {
      const { path, preset } = options.input;
      const r = await agentWorkspace(this.ctx, folderFor(options.input.folder)).readFile(path, { preset });
      if (r.exitCode !== 0)
        throw new Error(`cannot read ${path} in the sandbox: ${r.stderr.trim() || `exit ${r.exitCode}`}`);
      return capText(r.stdout);
    });
  }
}

export function registerLanguageModelTools(ctx: Ctx): void {
  ctx.push(
    vscode.lm.registerTool('agentfense_run', new RunTool(ctx)),
    vscode.lm.registerTool('agentfense_changes', new ChangesTool(ctx)),
    vscode.lm.registerTool('agentfense_read', new ReadTool(ctx)),
    vscode.lm.registerTool('agentfense_request_access', new RequestAccessTool(ctx)),
  );
}
