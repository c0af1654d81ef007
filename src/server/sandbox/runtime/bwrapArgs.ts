/**
 * The bubblewrap command line of a sandbox. Isolation comes from namespaces and mounts: a
 * user namespace (uid 1000, no capabilities), private pid/ipc/uts/net,
 * the host's system dirs read-only, the view read-only at /workspace, writable layers bound
 * over their roots, and read-only binds of the view over non-writable paths inside them.
 */
import * as fs from 'node:fs';
import { posix } from 'node:path';
import { workspaceBinds, type WorkspaceLayout } from '../view/workspaceBinds';
import { invalidArgument } from '../../rpc/rpcError';

export interface SandboxMounts extends WorkspaceLayout {
  tmpDir: string;
  /** Size of the sandbox's own /dev/shm (a tmpfs per command); without it, /dev/shm is bwrap's default. */
  shmBytes?: number;
}

/** Host directories every sandbox sees (read-only); the data dir and socket must stay out of them. */
export const SYSTEM_DIRS: readonly string[] = ['/usr', '/bin', '/sbin', '/lib', '/lib64', '/lib32', '/libx32', '/etc'];

/** Present when the kernel has keyrings (CONFIG_KEYS); masked with /dev/null in sandboxes. */
const PROC_KEY_FILES = ['/proc/keys', '/proc/key-users'].filter((f) => fs.existsSync(f));

export const BASE_ENV: Readonly<Record<string, string>> = {
  PATH: '/usr/local/bin:/usr/bin:/bin',
  HOME: '/tmp',
  LANG: 'C.UTF-8',
  TERM: 'xterm-256color',
};

/** Arguments up to (not including) env, chdir and the command; built once per sandbox state. */
export function bwrapMountArgs(m: SandboxMounts): string[] {
  const args = [
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
    // Always its own network namespace: what leaves it goes through the egress proxy (network/).
    '--unshare-net',
    '--unshare-cgroup-try',
    '--die-with-parent',
    '--new-session',
  ];
  for (const d of SYSTEM_DIRS) args.push('--ro-bind-try', d, d);
  args.push('--proc', '/proc', '--dev', '/dev', '--bind', m.tmpDir, '/tmp');
  // A RAM-backed /dev/shm without a size could take half the host's memory.
  if (m.shmBytes) args.push('--size', String(m.shmBytes), '--tmpfs', '/dev/shm');
  // /proc/keys lists the keys of the host user's keyrings (keyctl itself is denied by seccomp).
  for (const f of PROC_KEY_FILES) args.push('--ro-bind', '/dev/null', f);
  for (const b of workspaceBinds(m)) args.push(b.readOnly ? '--ro-bind' : '--bind', b.source, b.target);
  return args;
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Linux's MAX_ARG_STRLEN less the terminating NUL: the longest single argument or
 * environment string execve accepts; above it the spawn fails with E2BIG.
 */
export const MAX_ARG_BYTES = 131072 - 1;

/** `--setenv` pairs for the base environment plus the request's; bad names are INVALID_ARGUMENT. */
export function envArgs(requestEnv: Readonly<Record<string, string>>): string[] {
  const args = ['--clearenv'];
  for (const [name, value] of Object.entries(commandEnv(requestEnv))) args.push('--setenv', name, value);
  return args;
}

/** The base environment plus the request's; bad names are INVALID_ARGUMENT. */
export function commandEnv(requestEnv: Readonly<Record<string, string>>): Record<string, string> {
  const env: Record<string, string> = { ...BASE_ENV };
  for (const [name, value] of Object.entries(requestEnv)) {
    if (!ENV_NAME.test(name)) throw invalidArgument(`invalid environment variable name ${JSON.stringify(name)}`);
    if (value.includes('\0')) throw invalidArgument(`environment variable ${name} contains a NUL byte`);
    // The command sees it as one `NAME=value` string (and bwrap gets the value as an argument).
    const bytes = Buffer.byteLength(name) + 1 + Buffer.byteLength(value);
    if (bytes > MAX_ARG_BYTES)
      throw invalidArgument(
        `environment variable ${name} is ${bytes} bytes as NAME=value; the limit is ${MAX_ARG_BYTES} bytes`,
      );
    env[name] = value;
  }
  return env;
}

/** The working directory inside the sandbox: relative to /workspace or absolute under it. */
export function sandboxWorkdir(workdir: string): string {
  if (!workdir) return '/workspace';
  if (workdir.includes('\0')) throw invalidArgument('workdir contains a NUL byte');
  const resolved = posix.resolve('/workspace', workdir);
  if (resolved !== '/workspace' && !resolved.startsWith('/workspace/')) {
    throw invalidArgument(`workdir ${JSON.stringify(workdir)} is outside /workspace`);
  }
  return resolved;
}
