/**
 * An agent asks for access a preset refuses: what the grant would be, the question the user
 * answers (the agent never changes policy itself), and what the agent reads back. Whoever
 * asks the user (an MCP client's elicitation, VS Code's notification) uses these words.
 */
import { describeGrant, grantOf, type AccessGrant } from '../denials/accessGrant';
import { printable, type GrantableLevel } from '../../shared/denialWire';
import { atLeast, PermissionEngine, type NormalizedRule, type PermissionLevel } from '../../shared/permissions';
import { workspaceRelative } from './agentWorkspace';

export interface AccessRequest {
  /** As the agent named it: relative to /workspace or absolute under it. */
  path: string;
  access: GrantableLevel;
  /** Why the agent needs it, in its words, shown to the user. */
  reason: string;
  /** The command to run with the access, if the user allows it once. */
  command?: string;
}

export type AccessDecision = 'once' | 'workspace' | 'deny';

export const ACCESS_CHOICES: Record<AccessDecision, string> = {
  once: 'Allow once (this command only)',
  workspace: 'Allow for this workspace (adds a rule to .agentfense/presets.json)',
  deny: 'Deny',
};

export type AccessPlan =
  { kind: 'allowed'; path: string; level: PermissionLevel } | { kind: 'grant'; path: string; grant: AccessGrant };

/** What granting the request means under the preset's rules (throws RangeError outside /workspace). */
export function planAccess(req: AccessRequest, rules: readonly NormalizedRule[]): AccessPlan {
  const path = workspaceRelative(req.path);
  if (path === '') throw new RangeError('name a file or folder under /workspace, not /workspace itself');
  const engine = new PermissionEngine(rules);
  const level = engine.permissionOf(path);
  if (atLeast(level, req.access)) return { kind: 'allowed', path, level };
  return { kind: 'grant', path, grant: grantOf(path, req.access, engine.matchingRule(path)) };
}

/** The question the user answers: who asks for what, why, and what it overrides (a secret is named as one). */
export function accessQuestion(req: AccessRequest, grant: AccessGrant, preset: string): string {
  const lines = [
    `An agent asks to ${grant.rule.permission} /workspace/${printable(grant.path)}, which the ${preset} preset refuses.`,
    `Its reason: ${printable(req.reason)}`,
  ];
  if (req.command) lines.push(`The command it would run: ${printable(req.command)}`);
  if (grant.secret)
    lines.push(
      `⚠ This is a secret: the secrets rule \`${grant.secret.pattern}\` hides it. Allowing it lets the agent ${grant.rule.permission} it.`,
    );
  lines.push(`The grant: ${describeGrant(grant)}, for that path only.`);
  return lines.join('\n');
}

export function alreadyAllowed(plan: Extract<AccessPlan, { kind: 'allowed' }>, preset: string): string {
  return `/workspace/${printable(plan.path)} is already ${plan.level} under the ${preset} preset: nothing to grant. If a command still cannot reach it, the file may not exist in the workspace.`;
}

export function deniedAnswer(grant: AccessGrant): string {
  return `The user denied access to /workspace/${printable(grant.path)}. Work without it, and do not try to get around the policy.`;
}
