/**
 * Descriptors a bwrap receives beyond stdin/stdout/stderr (nothing else: the server closed
 * what it inherited, see inheritedFds.ts, and Node opens its own close-on-exec):
 *   3  the seccomp program (bwrap --seccomp 3, seccompProgram.ts), every bwrap
 *   4  a session supervisor's status pipe (sessionSupervisor.ts), sessions only
 * bwrap's namespace init closes them; only the command (the supervisor) keeps fd 4.
 *
 * Starts bwrap as the sandbox user. With cgroup limits, a tiny /bin/sh first writes its own
 * pid into the sandbox's cgroups and then execs bwrap, so every sandbox process is limited
 * from its first instruction.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import type { SandboxIdentity } from './sandboxIdentity';
import { failedPrecondition } from '../rpcError';
import { descendantsOf, killBwrapsMentioning, killQuietly } from './processTree';
import { openSeccompProgram, SECCOMP_FD } from './seccompProgram';

export interface Launch {
  bwrapArgs: string[];
  /** The sandbox's directory, which its bwrap command lines name (see killBwrapsMentioning). */
  sandboxDir: string;
  identity: SandboxIdentity;
  /** cgroup.procs files to join before bwrap runs. */
  cgroupProcs: readonly string[];
  /** Open a pipe at SESSION_STATUS_FD (child.stdio[4]) for a session supervisor. */
  statusPipe?: boolean;
}

const JOIN_CGROUPS_THEN_EXEC =
  'n=$1; shift; while [ "$n" -gt 0 ]; do echo $$ > "$1" || exit 125; shift; n=$((n-1)); done; exec "$@"';

let bwrapPath: string | undefined;

/** The bwrap binary, or FAILED_PRECONDITION saying how to get it. */
export function findBwrap(): string {
  if (bwrapPath) return bwrapPath;
  for (const dir of (process.env.PATH || '/usr/bin:/bin').split(':').concat('/usr/bin', '/usr/local/bin')) {
    const p = `${dir}/bwrap`;
    try {
      fs.accessSync(p, fs.constants.X_OK);
      return (bwrapPath = p);
    } catch {
      // keep looking
    }
  }
  throw failedPrecondition('bubblewrap (bwrap) is not installed on the server host; install bubblewrap: apt-get install bubblewrap');
}

export function launchBwrap(l: Launch): ChildProcess {
  const bwrap = findBwrap();
  const bwrapArgs = ['--seccomp', String(SECCOMP_FD), ...l.bwrapArgs];
  const [file, args] =
    l.cgroupProcs.length > 0
      ? ['/bin/sh', ['-c', JOIN_CGROUPS_THEN_EXEC, 'sh', String(l.cgroupProcs.length), ...l.cgroupProcs, bwrap, ...bwrapArgs]]
      : [bwrap, bwrapArgs];
  const asOtherUser = l.identity.serverIsRoot;
  const seccomp = openSeccompProgram();
  try {
    return spawn(file, args as string[], {
      cwd: '/',
      env: {},
      stdio: l.statusPipe ? ['pipe', 'pipe', 'pipe', seccomp, 'pipe'] : ['pipe', 'pipe', 'pipe', seccomp],
      ...(asOtherUser ? { uid: l.identity.uid, gid: l.identity.gid } : {}),
    });
  } finally {
    fs.closeSync(seccomp); // the child has its own copy
  }
}

/**
 * Kills bwrap and everything below it. bwrap's pid-namespace init dies with it
 * (--die-with-parent), which takes every process in the namespace along, setsid'd and
 * double-forked ones included; the explicit kills only make that immediate. An init cloned
 * in the instant of the kill may not have armed that signal yet: once bwrap is gone, any
 * orphaned bwrap of the sandbox is killed too.
 */
export function killSandboxTree(child: ChildProcess, sandboxDir: string): void {
  if (child.pid === undefined) return;
  const below = descendantsOf(child.pid);
  killQuietly(child.pid);
  for (const pid of below) killQuietly(pid);
  const sweep = () => killBwrapsMentioning(sandboxDir + '/', 'orphans');
  if (child.exitCode !== null || child.signalCode !== null) sweep();
  else child.once('exit', sweep);
}
