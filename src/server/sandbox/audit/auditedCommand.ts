/**
 * A command run under audit: strace (an execute-only copy, so non-dumpable: no sandbox process
 * can trace it or open its descriptors) follows the command and its children and writes each
 * failed file syscall, with the directory it was relative to, to AUDIT_FD — a pipe to the
 * server that only strace holds (see `audited`).
 */
import * as fs from 'node:fs';
import { join } from 'node:path';
import type { SandboxIdentity } from '../sandboxIdentity';
import { failedPrecondition, type RpcError } from '../../rpc/rpcError';
import { installExecuteOnly } from '../runtime/executeOnlyCopy';

/** The audit pipe's descriptor (see bwrapLauncher's list of descriptors). */
export const AUDIT_FD = 5;
/** Where strace appears inside an audited command's sandbox. */
export const STRACE_IN_SANDBOX = '/run/agentfense/strace';
const HOST_STRACE = '/usr/bin/strace';

export function straceCopyPath(dataDir: string): string {
  return join(dataDir, 'strace');
}

/** Installs the execute-only copy; false when the host has no strace (audit then says so). */
export function installStrace(dataDir: string, identity: SandboxIdentity): boolean {
  if (!fs.existsSync(HOST_STRACE)) return false;
  installExecuteOnly(HOST_STRACE, straceCopyPath(dataDir), identity);
  return true;
}

export function straceMissing(): RpcError {
  return failedPrecondition(
    `auditing a command needs strace on the server's host (${HOST_STRACE}); install it: apt-get install -y strace`,
  );
}

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
