/**
 * The refused accesses of an audited command as they travel in the DENIALS_TRAILER: the server
 * encodes at most what fits, the client decodes defensively (a field of the wrong shape drops
 * that record, never the call).
 */
import { PATTERN_TYPES, PERMISSION_LEVELS, type NormalizedRule, type PermissionLevel } from './permissions';

export const DENIAL_KINDS = ['hidden', 'unreadable', 'read-only'] as const;
export type DenialKind = (typeof DENIAL_KINDS)[number];

export interface WireDenial {
  kind: DenialKind;
  /** The syscall that was refused (`openat`, `unlinkat`, …). */
  op: string;
  /** The path as the sandbox named it. */
  named: string;
  /** The codebase path the rule decided. */
  path: string;
  level: PermissionLevel;
  /** The deciding rule; absent: no rule matched (the default, `none`). */
  rule?: NormalizedRule;
  pid: number;
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
  const kept: WireDenial[] = [];
  let size = 40;
  for (const d of denials) {
    const bytes = Buffer.byteLength(JSON.stringify(d)) + 1;
    if (size + bytes > MAX_DENIALS_BYTES) break;
    kept.push(d);
    size += bytes;
  }
  return Buffer.from(JSON.stringify({ denials: kept, dropped: dropped + denials.length - kept.length }));
}

export function decodeDenials(raw: Buffer | string | undefined): WireDenials | undefined {
  if (raw === undefined) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw.toString());
  } catch {
    return undefined;
  }
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
    PERMISSION_LEVELS.includes(x.level as PermissionLevel) &&
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
