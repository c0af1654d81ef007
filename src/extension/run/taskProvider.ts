/**
 * The `agentfense` task type: tasks.json entries (and a detected "test" task) run through the
 * same pseudoterminal as commands, so problem matchers and "Run Task" work as usual.
 */
import * as vscode from 'vscode';
import { sandboxPathToCodebasePath } from '../../shared/codebasePath';
import type { Ctx } from '../context';
import { SandboxRunTerminal } from './sandboxTerminal';
import { testCommandFor } from './runCommand';

export const TASK_TYPE = 'agentfense';

interface AgentFenseTaskDefinition extends vscode.TaskDefinition {
  command: string;
  preset?: string;
  cwd?: string;
  env?: Record<string, string>;
  /** Seconds. */
  timeout?: number;
  /** Instead of the preset's: "off", "on" or { "allow": [...], "deny": [...] }. */
  network?: unknown;
  /** Instead of the preset's: "bubblewrap", or "docker" with an `image`. */
  runtime?: unknown;
  image?: unknown;
}

export function registerTaskProvider(ctx: Ctx): void {
  ctx.push(
    vscode.tasks.registerTaskProvider(TASK_TYPE, {
      provideTasks: async () => {
        const tasks: vscode.Task[] = [];
        for (const folder of vscode.workspace.workspaceFolders ?? []) {
          const command = await testCommandFor(ctx, folder, { ask: false });
          if (!command) continue;
          const task = makeTask(ctx, { type: TASK_TYPE, command }, folder, 'test');
          task.group = vscode.TaskGroup.Test;
          task.detail = `${command} in a sandbox`;
          tasks.push(task);
        }
        return tasks;
      },
      resolveTask: (task) => {
        const def = task.definition as AgentFenseTaskDefinition;
        if (typeof def.command !== 'string' || def.command.trim() === '') return undefined;
        const folder = typeof task.scope === 'object' ? task.scope : vscode.workspace.workspaceFolders?.[0];
        if (!folder) return undefined;
        // Keep the task's own definition object: VS Code matches resolved tasks by it.
        return makeTask(ctx, def, folder, task.name, task.problemMatchers);
      },
    }),
  );
}

function makeTask(
  ctx: Ctx,
  def: AgentFenseTaskDefinition,
  folder: vscode.WorkspaceFolder,
  name: string,
  problemMatchers: string[] = [],
): vscode.Task {
  const execution = new vscode.CustomExecution(async (resolved) => {
    const d = resolved as AgentFenseTaskDefinition;
    const timeoutMs = typeof d.timeout === 'number' && d.timeout > 0 ? d.timeout * 1000 : ctx.config.defaultTimeoutMs;
    return new SandboxRunTerminal(
      {
        folder,
        command: d.command,
        preset: d.preset,
        cwd: d.cwd ? sandboxPathToCodebasePath(d.cwd) || undefined : undefined,
        env: d.env,
        timeoutMs,
        closeOnExit: true,
        ...(d.network === undefined ? {} : { network: d.network }),
        runtime: d.runtime,
        image: d.image,
      },
      (...args) => ctx.provision(...args),
      ctx,
      (outcome) => {
        ctx.codebaseMayHaveChanged(outcome.folder, outcome.pathsMerged);
        // The task's terminal is VS Code's (the task system shows it); the notification offers Problems.
        ctx.outcomes.report('task', name, outcome, undefined);
      },
    );
  });
  return new vscode.Task(def, folder, name, TASK_TYPE, execution, problemMatchers);
}
