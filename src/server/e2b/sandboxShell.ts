/**
 * What envd does inside an E2B sandbox (read and write files, stat, list, make, move, remove),
 * done here by a shell command in ours: it runs as the sandbox user, under its rules, so the
 * kernel decides what it may touch, and its writes are merged like any command's. Paths are
 * the caller's words, quoted (never parsed by a shell); a relative one is under /workspace,
 * the sandbox user's home here (E2B's /home/user).
 */
import { posix } from 'node:path';
import type { LiveSandbox } from '../sandbox/liveSandbox';
import type { CommandInput, StreamName } from '../sandbox/runtime/commandRunner';
import { E2bError } from './e2bError';

export const SANDBOX_HOME = '/workspace';

export interface ShellResult {
  exitCode: number;
  stdout: Buffer;
  stderr: Buffer;
}

/** An absolute path in the sandbox for a path an E2B caller gave. */
export function sandboxPath(path: string): string {
  if (path.includes('\0')) throw new E2bError(400, 'path contains a NUL byte');
  const home = path === '~' || path.startsWith('~/') ? SANDBOX_HOME + path.slice(1) : path;
  return posix.resolve(SANDBOX_HOME, home || '.');
}

/** Runs `script` in the sandbox and collects its output as bytes (file contents are not text). */
export async function runInSandbox(
  live: LiveSandbox,
  script: string,
  o: { stdin?: CommandInput; env?: Record<string, string> } = {},
): Promise<ShellResult> {
  const out: Record<StreamName, Buffer[]> = { stdout: [], stderr: [] };
  const r = await live.exec({
    command: script,
    stdin: o.stdin ?? '',
    env: o.env ?? {},
    workdir: SANDBOX_HOME,
    sink: {
      write: (stream, data) => {
        out[stream].push(data);
        return true;
      },
      onceDrain: (resume) => resume(),
    },
  });
  return { exitCode: r.exitCode, stdout: Buffer.concat(out.stdout), stderr: Buffer.concat(out.stderr) };
}

/** The HTTP status E2B answers for what a failed file command printed. */
export function fileErrorStatus(stderr: string): number {
  if (/No such file or directory/.test(stderr)) return 404;
  if (/Permission denied|Read-only file system|Operation not permitted/.test(stderr)) return 403;
  if (/Is a directory|Not a directory/.test(stderr)) return 400;
  return 500;
}
