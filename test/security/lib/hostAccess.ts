/**
 * What other local users can do with a server's data dir: the kernel's answer when the test
 * runs as root (the command really runs as that user, through setpriv), and the answer the
 * modes give otherwise (a normal user cannot switch users, so it reads the permission bits
 * the kernel would check).
 */
import { spawnSync } from 'node:child_process';
import { lstatSync, readdirSync, type Stats } from 'node:fs';
import { join } from 'node:path';

export const NOBODY = 65534;
export const isRoot = process.getuid?.() === 0;

export interface HostEntry {
  path: string;
  stat: Stats;
}

/** Every file and directory at or below `dir`, symlinks not followed (mounts included). */
export function walkHost(dir: string): HostEntry[] {
  const out: HostEntry[] = [];
  const stack = [dir];
  while (stack.length > 0) {
    const p = stack.pop()!;
    let st: Stats;
    try {
      st = lstatSync(p);
    } catch {
      continue; // removed meanwhile
    }
    out.push({ path: p, stat: st });
    if (!st.isDirectory()) continue;
    try {
      for (const name of readdirSync(p)) stack.push(join(p, name));
    } catch {
      /* removed meanwhile */
    }
  }
  return out;
}

/**
 * Runs a shell script as another user (no supplementary groups), with `lines` on stdin one
 * per line; returns its stdout lines. Root only.
 */
export function runAs(uid: number, gid: number, script: string, lines: readonly string[] = []): string[] {
  const r = spawnSync(
    'setpriv',
    [`--reuid=${uid}`, `--regid=${gid}`, '--clear-groups', '--', '/bin/sh', '-c', script],
    {
      input: lines.join('\n') + '\n',
      encoding: 'utf8',
      cwd: '/',
      timeout: 120_000,
      maxBuffer: 64 * 1024 * 1024,
    },
  );
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`setpriv as ${uid} failed (${r.status}): ${r.stderr}`);
  return r.stdout.split('\n').filter(Boolean);
}

/** Paths (of `lines`) that the user can open for reading (files) or list (directories). */
export function readableAs(uid: number, gid: number, entries: readonly HostEntry[]): string[] {
  const script =
    'while IFS= read -r p; do [ -z "$p" ] && continue; ' +
    'if [ -d "$p" ]; then ls -A -- "$p" >/dev/null 2>&1 && echo "$p"; ' +
    'elif [ -f "$p" ]; then head -c1 -- "$p" >/dev/null 2>&1 && echo "$p"; fi; done; exit 0';
  return runAs(
    uid,
    gid,
    script,
    entries.filter((e) => !e.path.includes('\n')).map((e) => e.path),
  );
}

/** Paths the user can open for writing (opened for append, nothing written). */
export function writableAs(uid: number, gid: number, paths: readonly string[]): string[] {
  return runAs(
    uid,
    gid,
    'while IFS= read -r p; do [ -z "$p" ] && continue; (: >> "$p") 2>/dev/null && echo "$p"; done; exit 0',
    paths,
  );
}

/**
 * By the modes alone: paths below `top` (included) that a user who is neither the owner nor
 * in `trustedGid` could list or read, i.e. every directory above them (from `top`) lets
 * others search, and they let others read. Ancestors above `top` are assumed searchable.
 */
export function openToOthers(top: string, entries: readonly HostEntry[], trustedGid?: number): string[] {
  const byPath = new Map(entries.map((e) => [e.path, e.stat]));
  const otherBits = (st: Stats) =>
    st.gid === trustedGid ? st.mode & 0o007 : (st.mode & 0o007) | ((st.mode >> 3) & 0o007);
  const searchable = (p: string): boolean => {
    for (let d = p.slice(0, p.lastIndexOf('/')); d.length >= top.length; d = d.slice(0, d.lastIndexOf('/'))) {
      const st = byPath.get(d);
      if (!st || (otherBits(st) & 0o001) === 0) return false;
    }
    return true;
  };
  return entries
    .filter(
      (e) => !e.stat.isSymbolicLink() && (e.path === top || searchable(e.path)) && (otherBits(e.stat) & 0o004) !== 0,
    )
    .map((e) => e.path);
}
