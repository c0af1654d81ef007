/**
 * Host processes read from /proc: by parent, to kill a command's tree but not its shell; by
 * command line, to find bwraps that lost their parent.
 */
import * as fs from 'node:fs';

function parentMap(): Map<number, number[]> {
  const children = new Map<number, number[]>();
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let stat: string;
    try {
      stat = fs.readFileSync(`/proc/${name}/stat`, 'utf8');
    } catch {
      continue; // exited meanwhile
    }
    // The command name may hold spaces and parentheses: fields start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ppid = Number(fields[1]);
    const list = children.get(ppid) ?? [];
    list.push(Number(name));
    children.set(ppid, list);
  }
  return children;
}

/** All descendants of `pid` (not `pid` itself), parents before children. */
export function descendantsOf(pid: number): number[] {
  const children = parentMap();
  const out: number[] = [];
  const queue = [pid];
  while (queue.length) {
    for (const c of children.get(queue.shift()!) ?? []) {
      out.push(c);
      queue.push(c);
    }
  }
  return out;
}

export function killQuietly(pid: number, signal: NodeJS.Signals = 'SIGKILL'): void {
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}

/** Command line of a process, NUL-separated arguments; '' when gone. */
export function cmdlineOf(pid: number): string[] {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  } catch {
    return [];
  }
}

/**
 * Kills bwraps (or the cgroup-joining shell about to exec one) with an argument under
 * `dirPrefix`: all of them, or only orphans. A bwrap killed in the instant after it cloned
 * its namespace init but before that init armed its parent-death signal leaves the init
 * alive, reparented away from us, running the command and holding its pipes; only its
 * command line, which names the sandbox's directory, still ties it to the sandbox.
 */
export function killBwrapsMentioning(dirPrefix: string, which: 'all' | 'orphans' = 'all'): number {
  const matching = new Map<number, number>(); // pid → parent
  for (const name of fs.readdirSync('/proc')) {
    const pid = Number(name);
    if (!/^\d+$/.test(name) || pid === process.pid) continue;
    const argv = cmdlineOf(pid);
    if (argv.some((a) => /(^|\/)bwrap$/.test(a)) && argv.some((a) => a.startsWith(dirPrefix)))
      matching.set(pid, parentOf(pid));
  }
  let killed = 0;
  for (const [pid, parent] of matching) {
    // Ours: the server's own children, and a namespace init under its living bwrap.
    if (which === 'orphans' && (parent === process.pid || matching.has(parent))) continue;
    killQuietly(pid);
    killed++;
  }
  return killed;
}

function parentOf(pid: number): number {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return 0;
  }
}
