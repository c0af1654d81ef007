/**
 * The start lock: several VS Code windows may want the embedded server at the same moment;
 * exactly one of them starts it. An O_EXCL-created file holding the starter's pid is the
 * lock; a lock whose pid is gone, or that is older than `staleMs`, is taken over.
 * vscode-free.
 */
import { open, readFile, stat, unlink } from 'node:fs/promises';

export interface LockOptions {
  /** A lock older than this is considered abandoned even if its pid is alive (pid reuse). */
  staleMs?: number;
  /** How long to wait for another holder before giving up. */
  timeoutMs?: number;
  pollMs?: number;
  /** Called while waiting: return true to stop waiting (e.g. the server came up meanwhile). */
  shouldStopWaiting?: () => Promise<boolean>;
}

export type LockResult = { acquired: true; release: () => Promise<void> } | { acquired: false };

export function isProcessAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: it exists but belongs to someone else.
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function tryCreate(path: string): Promise<boolean> {
  try {
    const fh = await open(path, 'wx', 0o600);
    await fh.writeFile(`${process.pid}\n`);
    await fh.close();
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw e;
  }
}

/** Whether an existing lock file is abandoned. A missing file counts as stale (retry at once). */
export async function isLockStale(path: string, staleMs: number): Promise<boolean> {
  try {
    const [text, st] = await Promise.all([readFile(path, 'utf8'), stat(path)]);
    const pid = Number.parseInt(text.trim(), 10);
    if (!isProcessAlive(pid)) return true;
    return Date.now() - st.mtimeMs > staleMs;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return true;
    throw e;
  }
}

export async function acquireLock(path: string, options: LockOptions = {}): Promise<LockResult> {
  const { staleMs = 60_000, timeoutMs = 30_000, pollMs = 100, shouldStopWaiting } = options;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await tryCreate(path)) {
      let released = false;
      return {
        acquired: true,
        release: async () => {
          if (released) return;
          released = true;
          await unlink(path).catch(() => undefined);
        },
      };
    }
    if (await isLockStale(path, staleMs)) {
      // Two windows may both see it stale; only one of them wins the O_EXCL create after.
      await unlink(path).catch(() => undefined);
      continue;
    }
    if (shouldStopWaiting && (await shouldStopWaiting())) return { acquired: false };
    if (Date.now() > deadline) return { acquired: false };
    await new Promise((r) => setTimeout(r, pollMs));
  }
}
