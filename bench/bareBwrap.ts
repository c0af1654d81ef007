/**
 * The "bare bwrap" baseline: the same bubblewrap command line the server runs for a
 * sandboxed command, spawned directly from Node. The difference between it and an Exec
 * over gRPC is what the server adds (RPC, bookkeeping, merge) — the part we can improve.
 *
 * Best source of the command line: the server's own debug log line, if it prints one
 * (see `argvFromServerLog`), with its workspace paths kept as they are. Fallback: a mirror
 * of the server's flags written from reading src/server/sandbox (keep it in step).
 */

export interface BareBwrapPaths {
  /** Host folder mounted read-only at /workspace (the shared workspace's host copy). */
  workspaceDir: string;
  /** Host folders bound read-write at /workspace/<root>, one per writable root of the preset. */
  writableDirs: Record<string, string>;
  /** Host folder bound at /tmp. */
  tmpDir: string;
}

/** What src/server/sandbox/bwrapArgs.ts lists (ro-bind-try of each). */
const SYSTEM_DIRS = ['/usr', '/bin', '/sbin', '/lib', '/lib64', '/lib32', '/libx32', '/etc'];
const BASE_ENV: Record<string, string> = { PATH: '/usr/local/bin:/usr/bin:/bin', HOME: '/tmp', LANG: 'C.UTF-8', TERM: 'xterm-256color' };

/**
 * The mirror of src/server/sandbox/bwrapArgs.ts (bwrapMountArgs + envArgs + chdir) for a
 * sandbox without network. The server's writable roots are overlay mounts; here they are
 * plain folders, which costs bwrap the same one bind each.
 */
export function mirroredBwrapArgv(paths: BareBwrapPaths, command: string): string[] {
  const args = ['bwrap', '--unshare-user', '--uid', '1000', '--gid', '1000', '--unshare-pid', '--unshare-ipc', '--unshare-uts', '--hostname', 'sandbox'];
  args.push('--unshare-net', '--unshare-cgroup-try', '--die-with-parent', '--new-session');
  for (const d of SYSTEM_DIRS) args.push('--ro-bind-try', d, d);
  args.push('--proc', '/proc', '--dev', '/dev', '--bind', paths.tmpDir, '/tmp');
  args.push('--ro-bind', paths.workspaceDir, '/workspace');
  for (const [root, hostPath] of Object.entries(paths.writableDirs)) args.push('--bind', hostPath, `/workspace/${root}`);
  args.push('--clearenv');
  for (const [name, value] of Object.entries(BASE_ENV)) args.push('--setenv', name, value);
  args.push('--chdir', '/workspace', '/bin/sh', '-c', command);
  return args;
}

/**
 * Finds the last bwrap argv the server logged, as a JSON array whose first element ends
 * in "bwrap", and swaps its final `sh -c COMMAND` for ours. Undefined if none was logged.
 */
export function argvFromServerLog(log: string, command: string): string[] | undefined {
  const lines = log.split('\n').reverse();
  for (const line of lines) {
    const start = line.indexOf('["');
    if (start < 0 || !line.includes('bwrap')) continue;
    try {
      const argv = JSON.parse(line.slice(start, line.lastIndexOf(']') + 1)) as unknown;
      if (!Array.isArray(argv) || !argv.every((a) => typeof a === 'string')) continue;
      if (!String(argv[0]).endsWith('bwrap')) continue;
      const dashC = argv.lastIndexOf('-c');
      if (dashC < 0 || dashC !== argv.length - 2) continue;
      return [...argv.slice(0, dashC + 1), command];
    } catch {
      continue;
    }
  }
  return undefined;
}
