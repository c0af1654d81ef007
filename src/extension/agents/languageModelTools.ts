/**
 * AgentFense as tools for VS Code's agent (Copilot or any chat participant): `agentfense_run`
 * runs a command in the workspace's sandbox in a visible AgentFense terminal the user can
 * watch and stop, and answers with the exit code, the output and the files that now wait for
 * review; `agentfense_changes` lists those; `agentfense_read` reads a file as the sandbox
 * sees it. Accepting stays the user's act in the review view. The texts the model reads come
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
      const folder = folderFor(options.input.folder);
      const baseline = this.ctx.baselines.of(rootOf(folder));
      const before = baseline.changes;
      const run = runInTerminal(
        this.ctx,
        {
          folder,
          command,
          preset,
          cwd: cwd === undefined ? undefined : workspaceRelative(cwd),
          timeoutMs: timeoutSeconds ? timeoutSeconds * 1000 : this.ctx.config.defaultTimeoutMs,
          closeOnExit: false,
          audit: audit === true,
        },
        'agent',
        'AgentFense: agent',
      );
      const cancel = token.onCancellationRequested(() => run.interrupt());
      const outcome = await run.outcome.finally(() => cancel.dispose());
      if (outcome.preset === undefined || outcome.sandboxId === undefined)
        throw new Error(`The command did not start: ${outcome.problem ?? 'no sandbox'}.`);
      const pending = await refreshChanges(this.ctx.backend, baseline, {
        ignore: this.ctx.config.ignore,
        showIgnored: false,
      });
      return describeRun(command, {
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
      });
    });
  }
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
  );
}
