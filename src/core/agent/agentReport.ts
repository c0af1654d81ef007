/**
 * What an agent reads back: plain text that says what happened and what it means (the
 * output, the exit code, which files now wait for the user's review). Shared by VS Code's
 * language-model tools and the MCP server so every agent reads the same thing.
 */
import type { RefusedConnectionWire } from '../../shared/connectionRefusals';
import type { Change } from '../review/changeComputation';
import type { AgentRunOutcome } from './agentWorkspace';
import { printable, type DenialKind, type WireDenial, type WireDenials } from '../../shared/denialWire';

/** Per stream; the model's context is the scarce resource, not the sandbox's output. */
export const OUTPUT_CHARS = 30_000;

/** What every tool description starts from: what the sandbox is, so a model uses it well. */
export const SANDBOX_SUMMARY =
  "Runs in the user's AgentFense sandbox: a copy of the workspace at /workspace (the working directory), " +
  'isolated by the Linux kernel (no access to the real files, the home folder or other processes; no network unless the user allowed it). ' +
  'Secrets such as .env files, keys and credentials are absent under the default presets. ' +
  "Files the command writes do not reach the user's workspace: they wait in the sandbox for the user to review and accept them.";

/**
 * The `audit` parameter of an agent's run. Off by default: tracing costs ~30 ms a command and
 * ~3× on file-heavy ones (`npm run bench -- --only audit-cost`), over the 20 % an always-on
 * default may cost.
 */
export const AUDIT_PARAMETER =
  'Also report which accesses the sandbox refused by policy (hidden, unreadable or read-only paths) and by which rule. ' +
  'Slower (about 1.5x for a test run, up to 5x for commands that touch many files): use it when a command failed with ' +
  '"No such file" or "Permission denied" on a path you expected to be there.';

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
  if (r.denials && r.denials.denials.length > 0) lines.push(describeDenials(r.denials, r.preset));
  else if (r.denials) lines.push('The sandbox refused no access by policy.');
  else if (r.exitCode !== 0)
    lines.push('If a path seemed missing or unwritable, run it again with audit to see what the sandbox refused.');
  if (r.refusedConnections?.length) lines.push(describeRefusedConnections(r.refusedConnections, r.preset));
  return lines.join('\n');
}

/** The connections the network policy refused, for a model: which, why, and that the user decides. */
export function describeRefusedConnections(list: readonly RefusedConnectionWire[], preset: string): string {
  const total = list.reduce((n, r) => n + r.count, 0);
  return (
    `The ${preset} preset's network policy refused ${total} connection${total === 1 ? '' : 's'} (not a network failure):\n` +
    list
      .map((r) => `  ${printable(r.host)}:${r.port} — ${printable(r.reason)}${r.count > 1 ? ` ×${r.count}` : ''}`)
      .join('\n') +
    "\nWork without them, or ask the user to allow them (the preset's network); do not try to get around the policy."
  );
}

/** One line for a terminal: "2 connections refused: pypi.org:443 (not in agentfense.network.allow); …". */
export function refusedConnectionsLine(list: readonly RefusedConnectionWire[]): string {
  const total = list.reduce((n, r) => n + r.count, 0);
  const shown = list.slice(0, 3).map((r) => `${printable(r.host)}:${r.port} (${printable(r.reason)})`);
  const more = list.length > 3 ? `; and ${list.length - 3} more` : '';
  return `${total} connection${total === 1 ? '' : 's'} refused: ${shown.join('; ')}${more}`;
}

const WHAT: Record<DenialKind, string> = {
  hidden: 'is hidden (absent in the sandbox)',
  unreadable: 'is listed but unreadable',
  'read-only': 'is read-only',
};

/** The refused accesses, one line each, in words a model acts on: what, which rule, what to do. */
export function describeDenials(d: WireDenials, preset: string): string {
  const lines = d.denials.map((x) => {
    const rule = x.rule ? `rule \`${x.rule.pattern}\` (${x.rule.permission})` : 'no rule (the default, none)';
    const times = x.count > 1 ? ` ×${x.count}` : '';
    const below = x.accessed !== x.path ? ` (inside /workspace/${printable(x.path)})` : '';
    return `  /workspace/${printable(x.accessed)}${below} ${WHAT[x.kind]} by ${rule} of the ${preset} preset — ${processOf(x)}${x.op}${times}, needs ${x.wants}`;
  });
  if (d.dropped > 0) lines.push(`  … and ${d.dropped} more`);
  return (
    `The sandbox refused ${d.denials.length + d.dropped} access${d.denials.length + d.dropped === 1 ? '' : 'es'} by policy, not because the files are missing:\n` +
    `${lines.join('\n')}\n` +
    'Work without them, or ask the user to grant access (the user decides; do not try to get around the policy).'
  );
}

function processOf(d: WireDenial): string {
  return d.process === undefined ? '' : `${printable(d.process)} (pid ${d.pid}) `;
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

/** One line for a terminal: "2 accesses refused: .env hidden by the .env rule (agent-safe); …". */
export function denialLine(d: WireDenials, preset: string | undefined): string {
  const total = d.denials.length + d.dropped;
  const shown = d.denials.slice(0, 3).map((x) => {
    const how = x.kind === 'hidden' ? 'hidden' : x.kind === 'unreadable' ? 'unreadable' : 'read-only';
    return `${printable(x.accessed)} ${how} by ${x.rule?.pattern ?? 'no rule'}${preset ? ` (${preset})` : ''}`;
  });
  const more = total > shown.length ? `; and ${total - shown.length} more` : '';
  return `${total} access${total === 1 ? '' : 'es'} refused: ${shown.join('; ')}${more}`;
}
