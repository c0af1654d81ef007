/**
 * Finding and ending the processes one e2e session started. code-server runs in its own process
 * group; the extension's embedded AgentFense server is started detached (its own session), so
 * it is found by its command line, which contains the session's private temp folder.
 */
import { readdirSync, readFileSync } from 'node:fs';

export interface ProcessInfo {
  pid: number;
  cmdline: string;
}

/** Every live process whose command line contains `needle` (never this process). */
export function processesMatching(needle: string): ProcessInfo[] {
  const found: ProcessInfo[] = [];
  for (const name of readdirSync('/proc')) {
    const pid = Number(name);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    let cmdline: string;
    try {
      cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
    } catch {
      continue; // exited while we looked
    }
    if (cmdline.includes(needle)) found.push({ pid, cmdline });
  }
  return found;
}

/** Whether a process (or, for a negative number, a process group) is still running; a zombie is not. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  if (pid < 0) return true;
  try {
    // "pid (comm) S …": the state letter follows the last ')'.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

/** SIGTERM a process group, give it `graceMs`, then SIGKILL whatever is left of it. */
export async function killProcessGroup(pgid: number, graceMs = 3000): Promise<void> {
  signal(-pgid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline && isAlive(-pgid)) await new Promise((r) => setTimeout(r, 100));
  signal(-pgid, 'SIGKILL');
}

/** SIGKILL every process whose command line mentions `needle`; returns what it killed. */
export function killMatching(needle: string): ProcessInfo[] {
  const victims = processesMatching(needle);
  for (const p of victims) signal(p.pid, 'SIGKILL');
  return victims;
}

/** Fields 4 on of /proc/<pid>/stat (ppid, pgrp, …) of a live process, or undefined once it has exited. */
function statFields(pid: number): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // "pid (comm) S ppid pgrp …": comm may hold spaces and parentheses, so split after the last ')'.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

export function parentOf(pid: number): number | undefined {
  const f = statFields(pid);
  return f && Number(f[1]);
}

export function processGroupOf(pid: number): number | undefined {
  const f = statFields(pid);
  return f && Number(f[2]);
}
