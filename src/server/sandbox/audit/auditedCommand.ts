/**
 * A command run under audit: strace (an execute-only copy, so non-dumpable: no sandbox process
 * can trace it or open its descriptors) follows the command and its children and writes each
 * failed file syscall, with the directory it was relative to, to AUDIT_FD — a pipe to the
 * server that only strace holds (see `audited`).
 */
import { InstalledProgram } from '../runtime/installedProgram';

/** The audit pipe's descriptor (see bwrapLauncher's list of descriptors). */
export const AUDIT_FD = 5;
/** Where strace appears inside an audited command's sandbox. */
export const STRACE_IN_SANDBOX = '/run/agentfense/strace';
/** strace, copied from the host: without it, an audited command says how to get it. */
export const STRACE = new InstalledProgram(
  '/usr/bin/strace',
  'strace',
  "auditing a command needs strace on the server's host (/usr/bin/strace); install it: apt-get install -y strace",
);

/**
 * `program` (the command's argv) under strace: failed file calls only, directories decoded.
 * strace writes to its stderr, which a first shell points at the audit pipe (a socket, so it
 * cannot be reopened by name), keeping the real stderr on fd 6; the traced shell puts it back
 * and closes fd 6 before it becomes the command, which so holds only 0, 1 and 2.
 */
export function audited(program: readonly string[]): string[] {
  const trace = [
    STRACE_IN_SANDBOX,
    '-f',
    '-Z',
    '-y',
    '-Y',
    '-ttt',
    '-qq',
    '-s',
    '4096',
    '--seccomp-bpf',
    '-e',
    'trace=%file',
    '-e',
    'signal=none',
    '--',
    '/bin/sh',
    '-c',
    'exec 2>&6 6>&-; exec "$@"',
    'agentfense-command',
  ];
  return [
    '/bin/sh',
    '-c',
    `exec 6>&2 2>&${AUDIT_FD} ${AUDIT_FD}>&-; exec "$@"`,
    'agentfense-audit',
    ...trace,
    ...program,
  ];
}
