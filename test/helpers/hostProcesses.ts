/**
 * Host processes of one test server, read from /proc: suites run side by side (CI runs two
 * files at once), so a command line alone does not say whose process it is.
 */
import * as fs from 'node:fs';

/** The parent of a host process, or 0 once it is gone. */
export function parentOf(pid: number): number {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return 0;
  }
}

function descendsFrom(pid: number, ancestor: number): boolean {
  for (let p = parentOf(pid); p > 1; p = parentOf(p)) if (p === ancestor) return true;
  return false;
}

/**
 * The server's processes whose command line is exactly `cmdline` (arguments joined by
 * spaces), and any orphan (reparented to pid 1) with it: an orphan is what a broken kill
 * leaves, whichever server made it.
 */
export function serverProcessesWith(serverPid: number, cmdline: string): number[] {
  const out: number[] = [];
  for (const p of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    try {
      if (fs.readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ') !== cmdline) continue;
      if (descendsFrom(Number(p), serverPid) || parentOf(Number(p)) === 1) out.push(Number(p));
    } catch {
      // gone
    }
  }
  return out;
}
