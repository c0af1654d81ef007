/**
 * Walks a directory tree the sandbox controls, iteratively (no recursion: the sandbox picks the
 * depth) and asynchronously (the sandbox picks the number of entries, and the event loop must
 * keep serving other clients). Each directory is opened relative to its parent's open handle
 * with O_NOFOLLOW, so a directory swapped for a symlink mid-walk ends that branch instead of
 * leading outside, and no path is ever re-resolved from the top (which cost O(depth) per
 * entry). At most `maxDepth + 1` directory handles are open at once.
 */
import type { BigIntStats } from 'node:fs';
import { lstat, readdir, type FileHandle } from 'node:fs/promises';
import { DIR_FLAGS, openAt, openBeneath } from './pathBeneath';

export interface WalkedEntry {
  /** Relative to the walk's start, '/'-separated. */
  rel: string;
  stat: BigIntStats;
}

export interface WalkVisitor {
  /** Each directory as it is entered (the start is ''), before its entries. */
  directory?(rel: string): Promise<void> | void;
  /** Each entry of every directory, of any type. */
  entry(e: WalkedEntry): Promise<void> | void;
  /** A directory below the depth bound: not entered. */
  tooDeep?(rel: string): void;
}

/** lstat calls in flight per directory: enough to keep the thread pool busy, no more. */
const STAT_CONCURRENCY = 16;

const joinRel = (a: string, b: string) => (a === '' ? b : `${a}/${b}`);

interface Frame {
  handle: FileHandle;
  rel: string;
  depth: number;
  subdirs: string[];
}

/**
 * Visits `base/start` depth-first. `maxDepth` bounds how many levels below the start are
 * entered (entries of the deepest level are still visited). Returns silently when the start
 * is not a directory (any more).
 */
export async function walkBeneath(
  base: string,
  start: string,
  maxDepth: number,
  visit: WalkVisitor,
  signal?: AbortSignal,
): Promise<void> {
  let root: FileHandle;
  try {
    root = await openBeneath(base, start, DIR_FLAGS);
  } catch {
    return;
  }
  const stack: Frame[] = [];
  try {
    const first = await listFrame(root, '', 0, maxDepth, visit);
    stack.push(first);
    while (stack.length > 0) {
      signal?.throwIfAborted();
      const top = stack[stack.length - 1];
      const name = top.subdirs.pop();
      if (name === undefined) {
        stack.pop();
        await top.handle.close();
        continue;
      }
      let handle: FileHandle;
      try {
        handle = await openAt(top.handle, name, DIR_FLAGS);
      } catch {
        continue; // replaced or removed meanwhile: nothing to walk there
      }
      try {
        stack.push(await listFrame(handle, joinRel(top.rel, name), top.depth + 1, maxDepth, visit));
      } catch (err) {
        await handle.close();
        throw err;
      }
    }
  } finally {
    await Promise.allSettled(stack.map((f) => f.handle.close()));
  }
}

async function listFrame(
  handle: FileHandle,
  rel: string,
  depth: number,
  maxDepth: number,
  visit: WalkVisitor,
): Promise<Frame> {
  await visit.directory?.(rel);
  const dir = `/proc/self/fd/${handle.fd}`;
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    names = [];
  }
  const subdirs: string[] = [];
  for (let i = 0; i < names.length; i += STAT_CONCURRENCY) {
    const batch = names.slice(i, i + STAT_CONCURRENCY);
    const stats = await Promise.all(batch.map((n) => lstat(`${dir}/${n}`, { bigint: true }).catch(() => undefined)));
    for (const [j, stat] of stats.entries()) {
      if (!stat) continue; // removed meanwhile
      const childRel = joinRel(rel, batch[j]);
      await visit.entry({ rel: childRel, stat });
      if (!stat.isDirectory()) continue;
      if (depth + 1 > maxDepth) visit.tooDeep?.(childRel);
      else subdirs.push(batch[j]);
    }
  }
  // pop() takes from the end: reverse so the walk goes in listing order.
  subdirs.reverse();
  return { handle, rel, depth, subdirs };
}
