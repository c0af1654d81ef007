/** The Denials view's actions: Open the rule, Allow once, Allow for this workspace, Clear. */
import * as vscode from 'vscode';
import { destinationFor, grantFor, type AccessGrant } from '../../core/denials/accessGrant';
import type { PresetEntry } from '../../core/presets/presetCatalog';
import { normalizeRule, type NormalizedRule } from '../../shared/permissions';
import { printable } from '../../shared/denialWire';
import type { Ctx } from '../context';
import type { DenialNode } from './denialsView';
import { allowForWorkspace, destinationEdit, ruleEdit } from './workspaceGrant';

/** The grant a denial node asks for, once the user has confirmed a secret by its rule's name. */
export async function confirmedGrant(node: DenialNode | undefined, how: string): Promise<AccessGrant | undefined> {
  if (node?.kind !== 'denial') {
    void vscode.window.showInformationMessage('AgentFense: pick a refused access in the Denials view.');
    return undefined;
  }
  const grant = grantFor(node.denial);
  if (!grant.secret) return grant;
  const allow = `Allow ${grant.rule.permission} of ${printable(grant.path)}`;
  const choice = await vscode.window.showWarningMessage(
    `${printable(grant.path)} is a secret: the secrets rule \`${grant.secret.pattern}\` hides it in every built-in preset but full-access.`,
    {
      modal: true,
      detail: `${how} lets the command (and any agent that runs commands) ${grant.rule.permission} /workspace/${printable(grant.path)}. It also uploads the file to the sandbox's codebase if it was left out.`,
    },
    allow,
  );
  return choice === allow ? grant : undefined;
}

export async function allowOnce(_ctx: Ctx, node?: DenialNode): Promise<void> {
  const grant = await confirmedGrant(node, 'Allowing it once');
  if (!grant || node?.kind !== 'denial') return;
  node.run.rerun(grant);
}

export async function allowDenialForWorkspace(ctx: Ctx, node?: DenialNode): Promise<void> {
  if (node?.kind === 'connection') {
    const { host, port } = node.connection;
    const edit = destinationEdit(destinationFor(host, port), ctx.presets.catalog.networkOf(node.run.preset));
    await allowForWorkspace(ctx, { ...node.run, rerun: () => node.run.rerun() }, edit);
    return;
  }
  const grant = await confirmedGrant(node, 'Allowing it for this workspace');
  if (!grant || node?.kind !== 'denial') return;
  await allowForWorkspace(ctx, { ...node.run, rerun: () => node.run.rerun() }, ruleEdit(grant));
}

/** Opens where the rule is written: its preset, or the preset that one extends. */
export async function openDenialRule(ctx: Ctx, node?: DenialNode): Promise<void> {
  if (!node) return;
  if (node.kind === 'network' || node.kind === 'connection') {
    // A preset's network is one value: its preset (or the one it extends) in the Presets view.
    const entry = ctx.presets.catalog.get(node.run.preset);
    if (entry) await vscode.commands.executeCommand('agentfense.revealRuleSource', { kind: 'network', entry });
    return;
  }
  const rule = node.kind === 'rule' ? node.rule : node.denial.rule;
  const entry = ctx.presets.catalog.get(node.run.preset);
  if (!rule || !entry) {
    void vscode.window.showInformationMessage(
      `AgentFense: no rule of ${node.run.preset} matches this path, so it is hidden by default (a preset shows only what its rules grant).`,
    );
    return;
  }
  const owner = definingEntry(ctx, entry, rule) ?? entry;
  await vscode.commands.executeCommand('agentfense.revealRuleSource', { kind: 'rule', entry: owner, rule, order: 0 });
  void vscode.window.setStatusBarMessage(`$(shield) AgentFense: ${describeRule(rule)} of ${owner.name}`, 5000);
}

function definingEntry(
  ctx: Ctx,
  entry: PresetEntry,
  rule: NormalizedRule,
  seen = new Set<string>(),
): PresetEntry | undefined {
  if (seen.has(entry.name)) return undefined;
  seen.add(entry.name);
  const same = (raw: unknown) => {
    try {
      const r = normalizeRule(raw);
      return r.pattern === rule.pattern && r.permission === rule.permission && r.type === rule.type;
    } catch {
      return false;
    }
  };
  if (entry.ownRules.some(same)) return entry;
  const base = entry.extends ? ctx.presets.catalog.get(entry.extends) : undefined;
  return base && definingEntry(ctx, base, rule, seen);
}

function describeRule(rule: NormalizedRule): string {
  return `\`${rule.pattern}\` → ${rule.permission} (priority ${rule.priority})`;
}
