/** Text helpers for the pseudoterminals: output normalisation and the status lines. vscode-free. */
import type { ResourceLimits } from '../../client';
import { formatBytes } from '../../core/formatBytes';

/** A terminal needs CR LF; a command's output has LF. Existing CR LF pairs stay as they are. */
export function toTerminalNewlines(text: string): string {
  return text.replace(/\r?\n/g, '\r\n');
}

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(2)} s`;
  const m = Math.floor(ms / 60_000);
  const s = Math.round((ms % 60_000) / 1000);
  return `${m} min ${s} s`;
}

export const DIM = '\x1b[2m';
export const RED = '\x1b[31m';
export const YELLOW = '\x1b[33m';
export const RESET = '\x1b[0m';

/** `[exit 0 · 1.23 s]`, dim when it succeeded and red otherwise. */
export function formatExitLine(exitCode: number, durationMs: number, note?: string): string {
  const color = exitCode === 0 ? DIM : RED;
  return `${color}[exit ${exitCode} · ${formatDuration(durationMs)}${note ? ` · ${note}` : ''}]${RESET}`;
}

/** Short form of a sandbox id for prompts and labels (`sb_1a2b3c4d…` → `sb_1a2b`). */
export function shortSandboxId(id: string): string {
  const m = /^([a-z]+_)?([0-9a-zA-Z]+)/.exec(id);
  if (!m) return id.slice(0, 8);
  return (m[1] ?? '') + m[2].slice(0, 4);
}

/** How long ago, for tree descriptions: `just now`, `5 min ago`, `3 h ago`, `2 d ago`. */
export function formatAge(from: Date | undefined, now = Date.now()): string {
  if (!from) return '';
  const s = Math.max(0, Math.round((now - from.getTime()) / 1000));
  if (s < 45) return 'just now';
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86400) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86400)} d ago`;
}

/**
 * A sandbox's resource limits as the server enforces them (its defaults included), for the
 * terminal header and the Sandboxes view: `memory 8.00 GB · 4096 processes · 1.5 CPUs`.
 */
export function formatLimits(resources: ResourceLimits | undefined): string {
  const parts: string[] = [];
  if (resources?.memoryBytes) parts.push(`memory ${formatBytes(resources.memoryBytes)}`);
  if (resources?.pidsLimit) parts.push(`${resources.pidsLimit} processes`);
  if (resources?.cpuQuota) {
    const cpus = Math.round((resources.cpuQuota / 100_000) * 100) / 100;
    parts.push(`${cpus} CPU${cpus === 1 ? '' : 's'}`);
  }
  return parts.length ? parts.join(' · ') : 'no limits';
}
