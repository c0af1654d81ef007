/**
 * The permission engine: which level a rule set gives a path.
 *
 * Shared by the client (Explorer preview, validation) and the embedded server (building
 * the sandbox's view), so both always agree. Ordering follows the original AgentFense
 * server: higher priority first; then FILE before DIRECTORY before GLOB; then the more
 * specific pattern. First match wins; a path no rule matches gets `none`.
 */
import { Minimatch } from 'minimatch';
import { unknownProperty } from './unknownProperty';

export const PERMISSION_LEVELS = ['none', 'view', 'read', 'write'] as const;
export type PermissionLevel = (typeof PERMISSION_LEVELS)[number];

export const PATTERN_TYPES = ['glob', 'directory', 'file'] as const;
export type PatternType = (typeof PATTERN_TYPES)[number];

export interface PermissionRule {
  pattern: string;
  permission: PermissionLevel;
  /** Defaults to `glob`. */
  type?: PatternType;
  /** Defaults to 0. */
  priority?: number;
}

/** A rule with every field filled in. */
export interface NormalizedRule {
  pattern: string;
  permission: PermissionLevel;
  type: PatternType;
  priority: number;
}

export class InvalidRuleError extends Error {
  constructor(
    readonly index: number,
    readonly rule: unknown,
    reason: string,
  ) {
    super(`permission rule #${index + 1} ${describeRule(rule)}: ${reason}`);
    this.name = 'InvalidRuleError';
  }
}

function describeRule(rule: unknown): string {
  if (rule && typeof rule === 'object' && 'pattern' in rule) {
    return `(${JSON.stringify((rule as { pattern: unknown }).pattern)})`;
  }
  return `(${JSON.stringify(rule)})`;
}

/** Priorities travel as int32 on the wire. */
const INT32_MAX = 2 ** 31 - 1;
const INT32_MIN = -(2 ** 31);

/** The keys a rule may have; anything else is a typo the user must hear about, not a silent default. */
export const RULE_KEYS = ['pattern', 'permission', 'type', 'priority'] as const;

/** Validates user-supplied rules, filling defaults; throws an error naming the bad rule. */
export function normalizeRules(rules: readonly unknown[]): NormalizedRule[] {
  return rules.map((rule, index) => normalizeRule(rule, index));
}

export function normalizeRule(rule: unknown, index = 0): NormalizedRule {
  if (!rule || typeof rule !== 'object' || Array.isArray(rule))
    throw new InvalidRuleError(index, rule, 'must be an object');
  const r = rule as Record<string, unknown>;
  // Before the fields: `permision` must read as a misspelled key, not as a missing permission.
  const unknown = unknownProperty(r, RULE_KEYS);
  if (unknown) throw new InvalidRuleError(index, rule, unknown);
  if (typeof r.pattern !== 'string' || r.pattern.trim() === '') {
    throw new InvalidRuleError(index, rule, 'pattern must be a non-empty string');
  }
  if (r.pattern.includes('\0')) throw new InvalidRuleError(index, rule, 'pattern contains a NUL byte');
  if (typeof r.permission !== 'string' || !(PERMISSION_LEVELS as readonly string[]).includes(r.permission)) {
    throw new InvalidRuleError(
      index,
      rule,
      `unknown permission ${JSON.stringify(r.permission)} (expected one of ${PERMISSION_LEVELS.join(', ')})`,
    );
  }
  const type = r.type ?? 'glob';
  if (typeof type !== 'string' || !(PATTERN_TYPES as readonly string[]).includes(type)) {
    throw new InvalidRuleError(
      index,
      rule,
      `unknown pattern type ${JSON.stringify(type)} (expected one of ${PATTERN_TYPES.join(', ')})`,
    );
  }
  const priority = r.priority ?? 0;
  if (typeof priority !== 'number' || !Number.isInteger(priority) || priority < INT32_MIN || priority > INT32_MAX) {
    throw new InvalidRuleError(index, rule, `priority must be a 32-bit integer, got ${JSON.stringify(priority)}`);
  }
  return {
    pattern: r.pattern.trim(),
    permission: r.permission as PermissionLevel,
    type: type as PatternType,
    priority,
  };
}

const TYPE_RANK: Record<PatternType, number> = { file: 3, directory: 2, glob: 1 };

/** How specific a pattern is (higher = earlier), as the original computes it. */
export function patternSpecificity(pattern: string): number {
  let s = 0;
  if (pattern.startsWith('/')) s += 100;
  if (!pattern.startsWith('**')) s += 50;
  const idx = pattern.indexOf('**');
  if (idx > 0) s += idx;
  if (!pattern.includes('*')) s += 200;
  return s;
}

/** Sorts rules into evaluation order (stable for full ties). */
export function sortRules(rules: readonly NormalizedRule[]): NormalizedRule[] {
  return [...rules].sort(
    (a, b) =>
      b.priority - a.priority ||
      TYPE_RANK[b.type] - TYPE_RANK[a.type] ||
      patternSpecificity(b.pattern) - patternSpecificity(a.pattern),
  );
}

/** Turns any codebase path (`src/a.py`, `/src/a.py`, `./src/`) into `/src/a.py`; root is `/`. */
export function toRulePath(path: string): string {
  const parts = path.split('/').filter((p) => p !== '' && p !== '.');
  return '/' + parts.join('/');
}

type Matcher = (rulePath: string) => boolean;

function compileMatcher(rule: NormalizedRule): Matcher {
  switch (rule.type) {
    case 'file': {
      const target = toRulePath(rule.pattern);
      return (p) => p === target;
    }
    case 'directory': {
      const dir = toRulePath(rule.pattern);
      if (dir === '/') return () => true;
      return (p) => p === dir || p.startsWith(dir + '/');
    }
    case 'glob':
      return compileGlob(rule.pattern);
  }
}

/**
 * Glob semantics: `/x` anchors at the codebase root; `**` crosses directories; a pattern
 * without a slash (`*.md`) matches a name at any depth, as in .gitignore; `dir/**` also
 * matches `dir` itself. Dotfiles are matched like any other name.
 */
function compileGlob(pattern: string): Matcher {
  let anchored: string;
  if (pattern.startsWith('/')) anchored = pattern;
  else if (pattern.startsWith('**')) anchored = '/' + pattern;
  else if (!pattern.replace(/\/$/, '').includes('/')) anchored = '/**/' + pattern;
  else anchored = '/' + pattern;
  const trailingDir = anchored.endsWith('/') && anchored.length > 1;
  if (trailingDir) anchored = anchored.slice(0, -1);
  const options = { dot: true, nocomment: true, nonegate: true };
  const mm = new Minimatch(anchored, options);
  const self = anchored.endsWith('/**') ? new Minimatch(anchored.slice(0, -3) || '/', options) : undefined;
  // `dir/` means the directory and what is below it.
  const below = trailingDir ? new Minimatch(anchored + '/**', options) : undefined;
  return (p) => mm.match(p) || (self?.match(p) ?? false) || (below?.match(p) ?? false);
}

/** A compiled rule set: resolves effective permissions quickly and repeatedly. */
export class PermissionEngine {
  readonly rules: readonly NormalizedRule[];
  private readonly matchers: readonly { rule: NormalizedRule; match: Matcher }[];

  constructor(rules: readonly (PermissionRule | NormalizedRule)[]) {
    this.rules = sortRules(normalizeRules(rules));
    this.matchers = this.rules.map((rule) => ({ rule, match: compileMatcher(rule) }));
  }

  /** The rule that decides `path`, if any. */
  matchingRule(path: string): NormalizedRule | undefined {
    const p = toRulePath(path);
    return this.matchers.find((m) => m.match(p))?.rule;
  }

  permissionOf(path: string): PermissionLevel {
    return this.matchingRule(path)?.permission ?? 'none';
  }
}

export function levelRank(level: PermissionLevel): number {
  return PERMISSION_LEVELS.indexOf(level);
}

/** `a` allows at least what `b` allows. */
export function atLeast(a: PermissionLevel, b: PermissionLevel): boolean {
  return levelRank(a) >= levelRank(b);
}
