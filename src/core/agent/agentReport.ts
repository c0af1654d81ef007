/**
 * What an agent reads back: plain text that says what happened and what it means (the
 * output, the exit code, which files now wait for the user's review). Shared by VS Code's
 * language-model tools and the MCP server so every agent reads the same thing.
 */
import type { Change } from '../review/changeComputation';
import type { AgentRunOutcome } from './agentWorkspace';

/** Per stream; the model's context is the scarce resource, not the sandbox's output. */
export const OUTPUT_CHARS = 30_000;

/** What every tool description starts from: what the sandbox is, so a model uses it well. */
export const SANDBOX_SUMMARY =
  "Runs in the user's AgentFense sandbox: a copy of the workspace at /workspace (the working directory), " +
  'isolated by the Linux kernel (no access to the real files, the home folder or other processes; no network unless the user allowed it). ' +
  'Secrets such as .env files, keys and credentials are absent under the default presets. ' +
  "Files the command writes do not reach the user's workspace: they wait in the sandbox for the user to review and accept them.";

/** Keeps the start and the end of a long text (the end of a build or test log says the most). */
export function capText(text: string, max = OUTPUT_CHARS): string {
  if (text.length <= max) return text;
  const head = Math.floor(max / 4);
  const tail = max - head;
  return `${text.slice(0, head)}\n[… ${text.length - max} characters cut …]\n${text.slice(text.length - tail)}`;
}

export function describeRun(command: string, r: AgentRunOutcome): string {
  const lines = [
    `$ ${command}`,
    `exit code ${r.exitCode} · ${(r.durationMs / 1000).toFixed(2)} s · preset ${r.preset} · sandbox ${r.sandboxId}`,
  ];
  if (r.problem) lines.push(`The command did not finish: ${r.problem}.`);
  if (r.stdout) lines.push(r.combinedOutput ? '--- output ---' : '--- stdout ---', capText(r.stdout).trimEnd());
  if (r.stderr) lines.push('--- stderr ---', capText(r.stderr).trimEnd());
  if (!r.stdout && !r.stderr) lines.push('(no output)');
  lines.push(describeRunChanges(r));
  return lines.join('\n');
}

function describeRunChanges(r: AgentRunOutcome): string {
  const byPath = new Map(r.pending.map((c) => [c.path, c]));
  const mine = r.changedByRun.map((p) => byPath.get(p)!).filter(Boolean);
  const others = r.pending.length - mine.length;
  const parts: string[] = [];
  if (mine.length > 0)
    parts.push(
      `This run changed ${mine.length} file${mine.length === 1 ? '' : 's'} in the sandbox, waiting for the user's review (not yet in the workspace):\n${listChanges(mine)}`,
    );
  else parts.push("This run changed no file in the user's review.");
  if (others > 0)
    parts.push(`${others} earlier change${others === 1 ? '' : 's'} also wait${others === 1 ? 's' : ''} for review.`);
  return parts.join('\n');
}

export function describeChanges(changes: readonly Change[]): string {
  if (changes.length === 0) return 'No sandbox changes wait for review: the sandbox matches the workspace.';
  return `${changes.length} sandbox change${changes.length === 1 ? '' : 's'} wait${changes.length === 1 ? 's' : ''} for the user's review (not yet in the workspace):\n${listChanges(changes)}`;
}

const MAX_LISTED = 200;

function listChanges(changes: readonly Change[]): string {
  const shown = changes
    .slice(0, MAX_LISTED)
    .map((c) => `  ${c.kind.padEnd(8)} ${c.path}${c.kind === 'deleted' ? '' : ` (${c.size} bytes)`}`);
  if (changes.length > MAX_LISTED) shown.push(`  … and ${changes.length - MAX_LISTED} more`);
  return shown.join('\n');
}
