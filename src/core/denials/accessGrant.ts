/**
 * The narrowest rule that lets one refused access through: the exact path the call named
 * (a `file` rule: nothing beside or below it), the level the call needed, one priority above
 * the rule that refused it (so it is evaluated first). And whether that path is a secret the
 * built-in presets hide, which a user must confirm by the rule's name before granting.
 */
import { isIP } from 'node:net';
import type { GrantableLevel, WireDenial } from '../../shared/denialWire';
import { PermissionEngine, toRulePath, type NormalizedRule } from '../../shared/permissions';
import { SECRETS_HIDDEN } from '../../shared/presets';

export interface AccessGrant {
  /** The rule to add. */
  rule: NormalizedRule;
  /** The codebase path it opens (`.env`, `secrets/db.txt`). */
  path: string;
  /** The rule it overrides for that path; absent when none matched (the default, `none`). */
  overrides?: NormalizedRule;
  /** The secrets rule that hides this path in the built-in presets: granting it needs the user to say so. */
  secret?: NormalizedRule;
}

const secrets = new PermissionEngine(SECRETS_HIDDEN);

export function grantFor(denial: WireDenial): AccessGrant {
  return grantOf(denial.accessed, denial.wants, denial.rule);
}

/** The grant of `level` on exactly `path` (a codebase path), over `deciding`, the rule that decides it now. */
export function grantOf(path: string, level: GrantableLevel, deciding: NormalizedRule | undefined): AccessGrant {
  const rule: NormalizedRule = {
    pattern: toRulePath(path),
    permission: level,
    type: 'file',
    priority: (deciding?.priority ?? 0) + 1,
  };
  const secret = secretRuleOf(path);
  return { rule, path, ...(deciding ? { overrides: deciding } : {}), ...(secret ? { secret } : {}) };
}

/** The secrets rule whose pattern names this path (`.env*`, `*.pem`, `*.key`, `secrets/`, `credentials*`). */
export function secretRuleOf(path: string): NormalizedRule | undefined {
  return secrets.matchingRule(path);
}

/** The rules of a preset with a grant: its rules and the grant, which wins for its path. */
export function withGrant(rules: readonly NormalizedRule[], grant: AccessGrant | undefined): NormalizedRule[] {
  return grant ? [...rules, grant.rule] : [...rules];
}

/**
 * The paths a rule set grants by exact path (a `file` rule above `none`): the upload includes
 * them even when an ignore rule leaves them out (`.env` is never uploaded by default), or the
 * grant would open a file the sandbox does not have.
 */
export function grantedFiles(rules: readonly NormalizedRule[]): string[] {
  return rules.filter((r) => r.type === 'file' && r.permission !== 'none').map((r) => r.pattern);
}

/** The grant in words: "read `/.env` over `…/.env*` (none)". */
export function describeGrant(grant: AccessGrant): string {
  const over = grant.overrides ? ` over \`${grant.overrides.pattern}\` (${grant.overrides.permission})` : '';
  return `${grant.rule.permission} \`${grant.rule.pattern}\`${over}`;
}

/**
 * The destination that lets a refused connection through: `host:port`, an IPv6 address in
 * brackets. (A name that resolves to a host-internal address needs the address itself.)
 */
export function destinationFor(host: string, port: number): string {
  return `${isIP(host) === 6 ? `[${host}]` : host.toLowerCase()}:${port}`;
}
