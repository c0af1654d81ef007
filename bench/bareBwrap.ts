/**
 * The "bare bwrap" baseline: the same bubblewrap command line the server runs for a
 * sandboxed command, spawned directly from Node. The difference between it and an Exec
 * over gRPC is what the server adds (RPC, bookkeeping, merge) — the part we can improve.
 *
 * Best source of the command line: the server's own, read from /proc while it runs a
 * command (`captureServerBwrapArgv`) — same flags, same view and layer mounts. Fallback: a
 * mirror of the server's flags written from reading src/server/sandbox/runtime (keep it in step).
 */
import { readFileSync } from 'node:fs';
import type { SpawnOptions } from './baselines';
import { descendantsOf } from '../src/server/sandbox/runtime/processTree';
import { nowMs } from './stats';

export interface BareBwrapPaths {
  /** Host folder mounted read-only at /workspace (the shared workspace's host copy). */
  workspaceDir: string;
  /** Host folders bound read-write at /workspace/<root>, one per writable root of the preset. */
  writableDirs: Record<string, string>;
  /** Host folder bound at /tmp. */
  tmpDir: string;
}

/**
 * How src/server/sandbox/runtime/bwrapLauncher.ts spawns bwrap: as the unprivileged sandbox uid
 * (61000) when the server is root, with an empty environment, cwd /, all three stdio piped
 * (stdin written and closed). Unprivileged bwrap with --unshare-user costs more than root's,
 * so the baseline must run the same way.
 */
export function serverLikeSpawnOptions(): SpawnOptions {
  const root = process.getuid?.() === 0;
  return { cwd: '/', env: {}, input: '', ...(root ? { uid: SANDBOX_UID, gid: SANDBOX_UID } : {}) };
}

/** src/server/sandbox/runtime/sandboxIdentity.ts DEFAULT_SANDBOX_UID. */
const SANDBOX_UID = 61000;

/** What src/server/sandbox/runtime/bwrapArgs.ts lists (ro-bind-try of each). */
const SYSTEM_DIRS = ['/usr', '/bin', '/sbin', '/lib', '/lib64', '/lib32', '/libx32', '/etc'];
const BASE_ENV: Record<string, string> = {
  PATH: '/usr/local/bin:/usr/bin:/bin',
  HOME: '/tmp',
  LANG: 'C.UTF-8',
  TERM: 'xterm-256color',
};

/**
 * The mirror of src/server/sandbox/runtime/bwrapArgs.ts (bwrapMountArgs + envArgs + chdir) for a
 * sandbox without network. The server's writable roots are overlay mounts; here they are
 * plain folders, which costs bwrap the same one bind each.
 */
export function mirroredBwrapArgv(paths: BareBwrapPaths, command: string): string[] {
  const args = [
    'bwrap',
    '--unshare-user',
    '--uid',
    '1000',
    '--gid',
    '1000',
    '--unshare-pid',
    '--unshare-ipc',
    '--unshare-uts',
    '--hostname',
    'sandbox',
  ];
  args.push('--unshare-net', '--unshare-cgroup-try', '--die-with-parent', '--new-session');
  for (const d of SYSTEM_DIRS) args.push('--ro-bind-try', d, d);
  args.push('--proc', '/proc', '--dev', '/dev', '--bind', paths.tmpDir, '/tmp');
  args.push('--ro-bind', paths.workspaceDir, '/workspace');
  for (const [root, hostPath] of Object.entries(paths.writableDirs))
    args.push('--bind', hostPath, `/workspace/${root}`);
  args.push('--clearenv');
  for (const [name, value] of Object.entries(BASE_ENV)) args.push('--setenv', name, value);
  args.push('--chdir', '/workspace', '/bin/sh', '-c', command);
  return args;
}

/**
 * The argv of a bwrap the server is running right now, read from /proc while a slow command
 * runs in the sandbox: the exact flags, view dir and layer mounts of that sandbox. Its final
 * `sh -c COMMAND` is replaced by the caller's command. Undefined if none was seen in time.
 */
export async function captureServerBwrapArgv(
  serverPid: number,
  runSlowCommand: () => Promise<unknown>,
  marker: string,
): Promise<string[] | undefined> {
  let found: string[] | undefined;
  const running = runSlowCommand();
  const deadline = nowMs() + 5000;
  let settled = false;
  void running.finally(() => (settled = true)).catch(() => {});
  while (!found && !settled && nowMs() < deadline) {
    for (const pid of descendantsOf(serverPid)) {
      let argv: string[];
      try {
        argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').slice(0, -1);
      } catch {
        continue;
      }
      if (argv[0]?.endsWith('bwrap') && argv[argv.length - 1] === marker && argv[argv.length - 2] === '-c') {
        found = ['bwrap', ...argv.slice(1)];
        break;
      }
    }
    if (!found) await new Promise((r) => setTimeout(r, 5));
  }
  await running;
  return found;
}

/** Replaces the final command of a `... sh -c COMMAND` argv. */
export function withCommand(argv: readonly string[], command: string): string[] {
  return [...argv.slice(0, -1), command];
}
