/**
 * The refused accesses of an audited command as they travel in the DENIALS_TRAILER: the server
 * encodes at most what fits, the client decodes defensively (a field of the wrong shape drops
 * that record, never the call).
 */
import { itemsWithin, parseTrailerJson } from './trailerJson';
import { PATTERN_TYPES, PERMISSION_LEVELS, type NormalizedRule, type PermissionLevel } from './permissions';

export const DENIAL_KINDS = ['hidden', 'unreadable', 'read-only'] as const;
export type DenialKind = (typeof DENIAL_KINDS)[number];

/** The levels a grant gives (`none` grants nothing). */
export const GRANTABLE_LEVELS = ['view', 'read', 'write'] as const;
export type GrantableLevel = (typeof GRANTABLE_LEVELS)[number];

export interface WireDenial {
  kind: DenialKind;
  /** The syscall that was refused (`openat`, `unlinkat`, …). */
  op: string;
  /** The path as the sandbox named it. */
  named: string;
  /** The codebase path the rule decided. */
  path: string;
  /** The codebase path the call named (below `path`, when a folder above it is hidden). */
  accessed: string;
  level: PermissionLevel;
  /** The level that would have let the call through. */
  wants: GrantableLevel;
  /** The deciding rule; absent: no rule matched (the default, `none`). */
  rule?: NormalizedRule;
  pid: number;
  /** The process's name as it set it itself: untrusted text, shown only through `printable`. */
  process?: string;
  /** Seconds since the epoch. */
  time: number;
  /** How many times the same refusal happened. */
  count: number;
  /**
   * False: the codebase does not have the path; a rule hides it by name (`.env`, never
   * uploaded). A denial only if the client's workspace has it: clients drop the others.
   */
  inCodebase?: false;
}

/** The denials that are real for a workspace: those of paths it has, for the ones the codebase lacks. */
export function inWorkspace(d: WireDenials, workspaceHas: (path: string) => boolean): WireDenials {
  const denials = d.denials.filter((x) => x.inCodebase !== false || workspaceHas(x.path));
  return { denials, dropped: d.dropped };
}

export interface WireDenials {
  denials: WireDenial[];
  /** Distinct refusals left out (over the server's bound, or of the trailer's size). */
  dropped: number;
}

/** gRPC's default limit on received metadata is 8 KiB, for all of it: leave room for the rest. */
export const MAX_DENIALS_BYTES = 6000;

export function encodeDenials(denials: readonly WireDenial[], dropped: number): Buffer {
  const kept = itemsWithin(denials, MAX_DENIALS_BYTES, 40);
  return Buffer.from(JSON.stringify({ denials: kept, dropped: dropped + denials.length - kept.length }));
}

export function decodeDenials(raw: Buffer | string | undefined): WireDenials | undefined {
  const parsed = parseTrailerJson(raw);
  if (!parsed || typeof parsed !== 'object') return undefined;
  const { denials, dropped } = parsed as { denials?: unknown; dropped?: unknown };
  if (!Array.isArray(denials)) return undefined;
  return {
    denials: denials.filter(isWireDenial),
    dropped: typeof dropped === 'number' && Number.isFinite(dropped) ? dropped : 0,
  };
}

function isWireDenial(d: unknown): d is WireDenial {
  if (!d || typeof d !== 'object') return false;
  const x = d as Record<string, unknown>;
  const rule = x.rule as Record<string, unknown> | undefined;
  return (
    DENIAL_KINDS.includes(x.kind as DenialKind) &&
    typeof x.op === 'string' &&
    typeof x.named === 'string' &&
    typeof x.path === 'string' &&
    typeof x.accessed === 'string' &&
    PERMISSION_LEVELS.includes(x.level as PermissionLevel) &&
    GRANTABLE_LEVELS.includes(x.wants as GrantableLevel) &&
    (x.process === undefined || typeof x.process === 'string') &&
    typeof x.pid === 'number' &&
    typeof x.time === 'number' &&
    typeof x.count === 'number' &&
    (rule === undefined ||
      (typeof rule === 'object' &&
        typeof rule.pattern === 'string' &&
        PERMISSION_LEVELS.includes(rule.permission as PermissionLevel) &&
        PATTERN_TYPES.includes(rule.type as (typeof PATTERN_TYPES)[number]) &&
        typeof rule.priority === 'number'))
  );
}

/**
 * A name the sandbox chose (a path it named, a process name), made safe to show: control
 * characters (a terminal's escape sequences, newlines that would forge a line) become `\xNN`.
 */
export function printable(name: string): string {
  return name.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (c) => {
    const code = c.charCodeAt(0);
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16)}`;
  });
}
