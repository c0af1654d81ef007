/**
 * The Presets view: every preset (built-in, settings, .agentfense/presets.json), each
 * expanding to its rules in evaluation order. Invalid presets show the error naming the rule.
 */
import * as vscode from 'vscode';
import type { NormalizedRule, PermissionLevel } from '../../shared/permissions';
import type { Ctx } from '../context';
import type { PresetEntry } from '../../core/presets/presetCatalog';
import { describeNetwork } from '../../shared/networkPolicy';

export const LEVEL_ICONS: Record<PermissionLevel, string> = {
  none: 'eye-closed',
  view: 'eye',
  read: 'book',
  write: 'edit',
};
export const LEVEL_WORDS: Record<PermissionLevel, string> = {
  none: 'hidden (does not exist in the sandbox)',
  view: 'listed, content unreadable',
  read: 'read-only',
  write: 'readable and writable',
};

export type PresetNode =
  | { kind: 'preset'; entry: PresetEntry }
  | { kind: 'rule'; entry: PresetEntry; rule: NormalizedRule; order: number }
  | { kind: 'network'; entry: PresetEntry }
  | { kind: 'error'; entry: PresetEntry; message: string }
  | { kind: 'fileError'; uri: vscode.Uri; message: string };

export class PresetsTreeProvider implements vscode.TreeDataProvider<PresetNode> {
  private readonly emitter = new vscode.EventEmitter<PresetNode | undefined>();
  readonly onDidChangeTreeData = this.emitter.event;

  constructor(private readonly ctx: Ctx) {
    ctx.push(ctx.presets.onDidChange(() => this.emitter.fire(undefined)));
  }

  getChildren(node?: PresetNode): PresetNode[] {
    if (!node) {
      const files: PresetNode[] = this.ctx.presets.fileErrors.map((f) => ({
        kind: 'fileError',
        uri: f.uri,
        message: f.error,
      }));
      return [...files, ...this.ctx.presets.catalog.entries.map((entry): PresetNode => ({ kind: 'preset', entry }))];
    }
    if (node.kind !== 'preset') return [];
    if (!node.entry.rules) return [{ kind: 'error', entry: node.entry, message: node.entry.error ?? 'invalid preset' }];
    return [
      { kind: 'network', entry: node.entry },
      ...node.entry.rules.map((rule, order): PresetNode => ({ kind: 'rule', entry: node.entry, rule, order })),
    ];
  }

  getTreeItem(node: PresetNode): vscode.TreeItem {
    switch (node.kind) {
      case 'preset': {
        const { entry } = node;
        const active = entry.name === this.ctx.presets.activeName;
        const item = new vscode.TreeItem(
          entry.name,
          active ? vscode.TreeItemCollapsibleState.Expanded : vscode.TreeItemCollapsibleState.Collapsed,
        );
        item.id = `preset:${entry.source}:${entry.name}`;
        const source =
          entry.source === 'builtin' ? 'built-in' : entry.source === 'settings' ? 'settings' : 'presets.json';
        item.description = `${active ? '● active · ' : ''}${source}`;
        item.tooltip = new vscode.MarkdownString(
          `**${entry.name}** (${source})${active ? ' — active' : ''}\n\n${entry.rules ? entry.description : `$(error) ${entry.error}`}`,
          true,
        );
        item.iconPath = !entry.rules
          ? new vscode.ThemeIcon('error', new vscode.ThemeColor('errorForeground'))
          : new vscode.ThemeIcon(
              active ? 'pass-filled' : 'shield',
              active ? new vscode.ThemeColor('charts.green') : undefined,
            );
        item.contextValue = `preset.${entry.source}${active ? '.active' : ''}${entry.rules ? '' : '.invalid'}`;
        return item;
      }
      case 'rule': {
        const { rule } = node;
        const item = new vscode.TreeItem(rule.pattern, vscode.TreeItemCollapsibleState.None);
        item.id = `rule:${node.entry.source}:${node.entry.name}:${node.order}`;
        item.description = `${rule.permission} · priority ${rule.priority} · ${rule.type}`;
        item.iconPath = new vscode.ThemeIcon(LEVEL_ICONS[rule.permission]);
        item.tooltip = new vscode.MarkdownString(
          `\`${rule.pattern}\` → **${rule.permission}**: ${LEVEL_WORDS[rule.permission]}\n\nPriority ${rule.priority}, ${rule.type} pattern, evaluated #${node.order + 1} (first match wins).`,
        );
        item.contextValue = `presetRule.${node.entry.source}`;
        item.command = { command: 'agentfense.revealRuleSource', title: 'Reveal Rule Source', arguments: [node] };
        return item;
      }
      case 'network': {
        const { network } = node.entry;
        const item = new vscode.TreeItem('network', vscode.TreeItemCollapsibleState.None);
        item.id = `network:${node.entry.source}:${node.entry.name}`;
        item.description = describeNetwork(network);
        item.iconPath = new vscode.ThemeIcon(network.mode === 'off' ? 'circle-slash' : 'globe');
        item.tooltip = new vscode.MarkdownString(
          network.mode === 'off'
            ? "No network: only the sandbox's own loopback."
            : `${network.mode === 'on' ? 'The internet' : `Only: ${network.allow.map((d) => `\`${d}\``).join(', ')}`}` +
                `${network.deny.length ? `; never ${network.deny.map((d) => `\`${d}\``).join(', ')}` : ''}. ` +
                "Never the host's loopback or private addresses unless listed by address. Through the sandbox's egress proxy.",
        );
        item.contextValue = `presetNetwork.${node.entry.source}`;
        return item;
      }
      case 'error': {
        const item = new vscode.TreeItem(node.message, vscode.TreeItemCollapsibleState.None);
        item.iconPath = new vscode.ThemeIcon('error', new vscode.ThemeColor('errorForeground'));
        item.tooltip = node.message;
        item.contextValue = 'presetError';
        item.command = { command: 'agentfense.revealRuleSource', title: 'Reveal Rule Source', arguments: [node] };
        return item;
      }
      case 'fileError': {
        const item = new vscode.TreeItem(`presets.json: ${node.message}`, vscode.TreeItemCollapsibleState.None);
        item.iconPath = new vscode.ThemeIcon('error', new vscode.ThemeColor('errorForeground'));
        item.resourceUri = node.uri;
        item.tooltip = `${node.uri.fsPath}: ${node.message}`;
        item.command = { command: 'vscode.open', title: 'Open', arguments: [node.uri] };
        return item;
      }
    }
  }

  refresh(): void {
    this.emitter.fire(undefined);
  }
}
