/**
 * Descriptors a bwrap receives beyond stdin/stdout/stderr (nothing else: the server closed
 * what it inherited, see inheritedFds.ts, and Node opens its own close-on-exec):
 *   3  the seccomp program (bwrap --seccomp 3, seccompProgram.ts), every bwrap
 *   4  a session supervisor's status pipe (sessionSupervisor.ts), sessions only
 *   5  an audited command's strace output (audit/auditedCommand.ts), audited commands only
 * bwrap's namespace init closes them; only the command (the supervisor) keeps fd 4.
 *
 * Starts bwrap as the sandbox user. With cgroup limits, a tiny /bin/sh first writes its own
 * pid into the sandbox's cgroups and then execs bwrap, so every sandbox process is limited
 * from its first instruction.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import type { Writable } from 'node:stream';
import type { SandboxIdentity } from '../sandboxIdentity';
import { failedPrecondition } from '../../rpc/rpcError';
import { descendantsOf, killBwrapsMentioning, killQuietly } from './processTree';
import { bwrapOnPath } from './bwrapOnPath';
import { openSeccompProgram, SECCOMP_FD } from './seccompProgram';
import { AUDIT_FD } from '../audit/auditedCommand';

export interface Launch {
  /** bwrap's command line, which every local user can read in /proc/<pid>/cmdline: nothing secret. */
  bwrapArgs: string[];
  /** Options that may carry secrets (env values), read by bwrap from PRIVATE_ARGS_FD (`--args`). */
  privateArgs?: string[];
  /** A shell script bwrap copies from SCRIPT_FD (`--ro-bind-data`, see SCRIPT_PATH). */
  script?: string;
  /** The sandbox's directory, which its bwrap command lines name (see killBwrapsMentioning). */
  sandboxDir: string;
  identity: SandboxIdentity;
  /** cgroup.procs files to join before bwrap runs. */
  cgroupProcs: readonly string[];
  /** Open a pipe at SESSION_STATUS_FD (child.stdio[4]) for a session supervisor. */
  statusPipe?: boolean;
  /** Open a pipe at AUDIT_FD (child.stdio[5]) for strace's report of an audited command. */
  auditPipe?: boolean;
}

const JOIN_CGROUPS_THEN_EXEC =
  'n=$1; shift; while [ "$n" -gt 0 ]; do echo $$ > "$1" || exit 125; shift; n=$((n-1)); done; exec "$@"';

/**
 * Descriptors for what must not appear on bwrap's command line. Not 3-7: those are kept for
 * other purposes (a seccomp filter, a session supervisor). bwrap closes both after reading.
 */
export const PRIVATE_ARGS_FD = 8;
export const SCRIPT_FD = 9;
/** Where a command's text is inside the sandbox; run as `/bin/sh SCRIPT_PATH`. */
export const SCRIPT_PATH = '/run/agentfense/command';

let bwrapPath: string | undefined;

/** The bwrap binary (on PATH only, as the host check found it), or FAILED_PRECONDITION saying how to get it. */
export function findBwrap(): string {
  if (bwrapPath) return bwrapPath;
  const found = bwrapOnPath();
  if (found) return (bwrapPath = found);
  throw failedPrecondition(
    "bubblewrap (bwrap) is not on the server's PATH; install bubblewrap: apt-get install bubblewrap",
  );
}

export function launchBwrap(l: Launch): ChildProcess {
  const bwrap = findBwrap();
  const bwrapArgs = ['--seccomp', String(SECCOMP_FD), ...l.bwrapArgs];
  const [file, args] =
    l.cgroupProcs.length > 0
      ? [
          '/bin/sh',
          ['-c', JOIN_CGROUPS_THEN_EXEC, 'sh', String(l.cgroupProcs.length), ...l.cgroupProcs, bwrap, ...bwrapArgs],
        ]
      : [bwrap, bwrapArgs];
  const asOtherUser = l.identity.serverIsRoot;
  const piped: [number, string][] = [];
  if (l.privateArgs) piped.push([PRIVATE_ARGS_FD, l.privateArgs.map((a) => a + '\0').join('')]);
  if (l.script !== undefined) piped.push([SCRIPT_FD, l.script]);
  const seccomp = openSeccompProgram();
  // 3: the seccomp program; 4: a session supervisor's status pipe; 5: an audit pipe; 8, 9: the piped data above.
  const stdio: ('pipe' | 'ignore' | number)[] = ['pipe', 'pipe', 'pipe', seccomp];
  if (l.statusPipe) stdio.push('pipe');
  if (l.auditPipe) {
    while (stdio.length < AUDIT_FD) stdio.push('ignore');
    stdio[AUDIT_FD] = 'pipe';
  }
  for (const [fd] of piped) {
    while (stdio.length < fd) stdio.push('ignore');
    stdio[fd] = 'pipe';
  }
  let child: ChildProcess;
  try {
    child = spawn(file, args as string[], {
      cwd: '/',
      env: {},
      stdio,
      ...(asOtherUser ? { uid: l.identity.uid, gid: l.identity.gid } : {}),
    });
  } finally {
    fs.closeSync(seccomp); // the child has its own copy
  }
  for (const [fd, data] of piped) {
    const pipe = child.stdio[fd] as Writable | null;
    // bwrap may die before reading (it is then reported like any failed start).
    pipe?.on('error', () => {});
    pipe?.end(data);
  }
  return child;
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
