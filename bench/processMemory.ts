/**
 * Memory of a process tree from /proc: the server plus every descendant (bwrap, the
 * sandboxed shells, their children). PSS (proportional set size, smaps_rollup) divides
 * shared pages among the processes that map them, so summing it does not count the same
 * libc page 120 times; RSS is reported too because that is what `top` shows.
 */
import { readFileSync } from 'node:fs';
import { descendantsOf } from '../src/server/sandbox/runtime/processTree';

export interface TreeMemory {
  processes: number;
  rssKiB: number;
  pssKiB: number;
  /** Command names seen, with counts (e.g. { bwrap: 240, sh: 120, sleep: 120 }). */
  byName: Record<string, number>;
}

function kib(text: string, field: string): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text);
  return m ? Number(m[1]) : 0;
}

export function treeMemory(root: number): TreeMemory {
  const result: TreeMemory = { processes: 0, rssKiB: 0, pssKiB: 0, byName: {} };
  for (const pid of [root, ...descendantsOf(root)]) {
    try {
      const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
      const name = readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
      result.rssKiB += kib(rollup, 'Rss');
      result.pssKiB += kib(rollup, 'Pss');
      result.processes++;
      result.byName[name] = (result.byName[name] ?? 0) + 1;
    } catch {
      // exited while we looked, or a kernel thread without smaps
    }
  }
  return result;
}

/** Resident set size of one process in MiB (VmRSS), NaN if it is gone. */
export function processRssMiB(pid: number): number {
  try {
    const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : NaN;
  } catch {
    return NaN;
  }
}
