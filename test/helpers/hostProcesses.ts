/**
 * The one place tests read the host's processes from /proc. Suites run side by side (CI runs
 * two files at once), so a command line alone does not say whose process it is: the helpers
 * below also follow parents, process groups and owners.
 */
import * as fs from 'node:fs';

export interface HostProcess {
  pid: number;
  argv: string[];
  /** argv joined by spaces. */
  cmd: string;
}

/** The pids in /proc now. */
function pids(): number[] {
  try {
    return fs
      .readdirSync('/proc')
      .filter((n) => /^\d+$/.test(n))
      .map(Number);
  } catch {
    return [];
  }
}

/**
 * Every process alive now, never this one; a zombie or kernel thread has an empty argv. A
 * process that exits while it is read is left out.
 */
export function hostProcesses(): HostProcess[] {
  const out: HostProcess[] = [];
  for (const pid of pids()) {
    if (pid === process.pid) continue;
    try {
      const argv = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
      out.push({ pid, argv, cmd: argv.join(' ') });
    } catch {
      // gone
    }
  }
  return out;
}

/** Processes whose command line contains `needle`. */
export function processesMatching(needle: string): HostProcess[] {
  return hostProcesses().filter((p) => p.cmd.includes(needle));
}

/** Fields 3 on of /proc/<pid>/stat (state, ppid, pgrp, …), or undefined once it has exited. */
function statFields(pid: number): string[] | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // "pid (comm) S ppid pgrp …": comm may hold spaces and parentheses, so split after the last ')'.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/** The state letter (R, S, D, Z, …), or undefined once it has exited. */
export function stateOf(pid: number): string | undefined {
  return statFields(pid)?.[0];
}

/** The parent of a process, or undefined once it has exited. */
export function parentOf(pid: number): number | undefined {
  const f = statFields(pid);
  return f && Number(f[1]);
}

export function processGroupOf(pid: number): number | undefined {
  const f = statFields(pid);
  return f && Number(f[2]);
}

/** The executable's name as the kernel keeps it (/proc/<pid>/comm), or undefined once it has exited. */
export function commOf(pid: number): string | undefined {
  try {
    return fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return undefined;
  }
}

/** Real and effective uid, or undefined once it has exited. */
export function uidsOf(pid: number): { real: number; effective: number } | undefined {
  try {
    const m = /^Uid:\s+(\d+)\s+(\d+)/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? { real: Number(m[1]), effective: Number(m[2]) } : undefined;
  } catch {
    return undefined;
  }
}

function descendsFrom(pid: number, ancestor: number): boolean {
  for (let p = parentOf(pid); p !== undefined && p > 1; p = parentOf(p)) if (p === ancestor) return true;
  return false;
}

/** Descendants of a process (children, grandchildren, …), from one reading of /proc. */
export function descendantsOf(root: number): number[] {
  const parent = new Map<number, number>();
  for (const pid of pids()) {
    const ppid = parentOf(pid);
    if (ppid !== undefined) parent.set(pid, ppid);
  }
  const out: number[] = [];
  for (const pid of parent.keys()) {
    let p = parent.get(pid);
    for (let i = 0; p && i < 64; i++) {
      if (p === root) {
        out.push(pid);
        break;
      }
      p = parent.get(p);
    }
  }
  return out;
}

/**
 * The server's processes whose command line is exactly `cmdline` (arguments joined by
 * spaces), and any orphan (reparented to pid 1) with it: an orphan is what a broken kill
 * leaves, whichever server made it.
 */
export function serverProcessesWith(serverPid: number, cmdline: string): number[] {
  return hostProcesses()
    .filter((p) => p.cmd === cmdline && (descendsFrom(p.pid, serverPid) || parentOf(p.pid) === 1))
    .map((p) => p.pid);
}
