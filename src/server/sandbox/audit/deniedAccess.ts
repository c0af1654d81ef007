/**
 * Which failed calls were the sandbox's rules at work, and which rule: a lookup of a path the
 * codebase has but the preset hides (`none`: it is absent), a read of a `view` file (listed,
 * unreadable), a write to a path that is not `write`. A lookup of a path that exists nowhere
 * in the workspace (PATH searches, config probes) is not a denial: it would drown the real ones.
 * Decided from the rules and the codebase's listing, never from the command's output.
 */
import { posix } from 'node:path';
import type { NormalizedRule, PermissionEngine, PermissionLevel } from '../../../shared/permissions';
import type { FailedCall } from './straceLine';
import type { DenialKind, GrantableLevel } from '../../../shared/denialWire';

export type { DenialKind } from '../../../shared/denialWire';

export interface Denial {
  kind: DenialKind;
  /** The syscall (`openat`, `unlinkat`, …). */
  op: string;
  /** The path as the sandbox named it. */
  named: string;
  /** The codebase path the rule decided (the hidden folder, for a path below one). */
  workspacePath: string;
  /** The codebase path the call named (below workspacePath, for a path in a hidden folder). */
  accessed: string;
  level: PermissionLevel;
  /** The level that would have let the call through: what a grant must give. */
  wants: GrantableLevel;
  /** The deciding rule; absent when no rule matched (the default, `none`). */
  rule?: NormalizedRule;
  pid: number;
  /** The process's name as it set it (untrusted), when strace said. */
  process?: string;
  /** Seconds since the epoch. */
  time: number;
  /** False: a path a rule hides by name that the codebase does not have (the client checks its workspace). */
  inCodebase?: false;
}

export interface DenialContext {
  rules: PermissionEngine;
  /** Whether the codebase has this path, as a file or as a folder of files. */
  exists: (workspacePath: string) => boolean;
  /** Where a relative path of a call without a decoded directory is resolved (the command's start). */
  cwd: string;
}

/** Calls that change what they name (the last path, for symlink: the link). */
const WRITES = new Set([
  'creat',
  'mkdir',
  'mkdirat',
  'rmdir',
  'unlink',
  'unlinkat',
  'rename',
  'renameat',
  'renameat2',
  'link',
  'linkat',
  'symlink',
  'symlinkat',
  'chmod',
  'fchmodat',
  'fchmodat2',
  'chown',
  'lchown',
  'fchownat',
  'truncate',
  'utime',
  'utimes',
  'utimensat',
  'futimesat',
  'mknod',
  'mknodat',
  'setxattr',
  'lsetxattr',
  'removexattr',
  'lremovexattr',
]);
const OPENS = new Set(['open', 'openat', 'openat2']);
const WRITE_FLAGS = /\bO_(WRONLY|RDWR|CREAT|TRUNC|APPEND)\b/;

function isWrite(call: FailedCall): boolean {
  if (WRITES.has(call.syscall)) return true;
  return OPENS.has(call.syscall) && WRITE_FLAGS.test(call.flags ?? '');
}

/** Writes need `write`; opening a file for its content `read`; a lookup, a listing, a stat `view`. */
function levelWanted(call: FailedCall, write: boolean): GrantableLevel {
  if (write) return 'write';
  if (OPENS.has(call.syscall) && !/\bO_DIRECTORY\b/.test(call.flags ?? '')) return 'read';
  return 'view';
}

/** `/workspace/a/../b` → `b`; undefined outside /workspace (and for /workspace itself). */
function workspacePathOf(abs: string): string | undefined {
  const normal = posix.normalize(abs);
  return normal.startsWith('/workspace/') ? normal.slice('/workspace/'.length).replace(/\/$/, '') : undefined;
}

/** The denial this failed call is, or undefined when the rules had nothing to do with it. */
export function denialOf(call: FailedCall, ctx: DenialContext): Denial | undefined {
  const write = isWrite(call);
  const wants = levelWanted(call, write);
  // symlink's first path is the link's text, not a path it touches.
  const touched = call.syscall.startsWith('symlink') ? call.paths.slice(-1) : call.paths;
  for (const p of touched) {
    const abs = p.named.startsWith('/') ? p.named : posix.join(p.dir ?? ctx.cwd, p.named);
    const rel = workspacePathOf(abs);
    if (!rel) continue;
    const base = {
      op: call.syscall,
      named: p.named,
      accessed: rel,
      wants,
      pid: call.pid,
      ...(call.process === undefined ? {} : { process: call.process }),
      time: call.time,
    };
    if (call.errno === 'ENOENT' || call.errno === 'ENOTDIR') {
      // The outermost hidden part the codebase has: below it, everything is absent too.
      const parts = rel.split('/');
      for (let i = 1; i <= parts.length; i++) {
        const prefix = parts.slice(0, i).join('/');
        if (!ctx.exists(prefix)) break;
        const rule = ctx.rules.matchingRule(prefix);
        if ((rule?.permission ?? 'none') === 'none')
          return { ...base, kind: 'hidden', workspacePath: prefix, level: 'none', rule };
      }
      // Not in the codebase, but a rule hides it by name (`.env`, never uploaded): a denial if
      // the workspace has it, which only the client can tell.
      const rule = ctx.rules.matchingRule(rel);
      if (rule?.permission === 'none')
        return { ...base, kind: 'hidden', workspacePath: rel, level: 'none', rule, inCodebase: false };
      continue;
    }
    const rule = ctx.rules.matchingRule(rel);
    const level = rule?.permission ?? 'none';
    if (write && ['EROFS', 'EACCES', 'EPERM'].includes(call.errno) && level !== 'write')
      return { ...base, kind: 'read-only', workspacePath: rel, level, rule };
    if (!write && call.errno === 'EACCES' && level === 'view')
      return { ...base, kind: 'unreadable', workspacePath: rel, level, rule };
  }
  return undefined;
}
