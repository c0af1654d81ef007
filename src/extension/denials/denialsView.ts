/**
 * The Denials view: the accesses the latest audited run of each folder was refused, grouped
 * by the rule that refused them; each offers Allow once and Allow for this workspace, each
 * rule Open the rule.
 */
import * as vscode from 'vscode';
import { printable, type DenialKind, type WireDenial } from '../../shared/denialWire';
import type { NormalizedRule } from '../../shared/permissions';
import type { DeniedRun, RecentDenials } from './recentDenials';
import type { RefusedConnectionWire } from '../../shared/connectionRefusals';

export type DenialNode =
  | { kind: 'rule'; run: DeniedRun; rule: NormalizedRule | undefined; denials: WireDenial[] }
  | { kind: 'denial'; run: DeniedRun; denial: WireDenial }
  /** The connections the preset's network refused. */
  | { kind: 'network'; run: DeniedRun }
  | { kind: 'connection'; run: DeniedRun; connection: RefusedConnectionWire };

const KIND_WORDS: Record<DenialKind, string> = {
  hidden: 'hidden',
  unreadable: 'unreadable',
  'read-only': 'read-only',
};

export class DenialsTreeProvider implements vscode.TreeDataProvider<DenialNode> {
  private readonly emitter = new vscode.EventEmitter<DenialNode | undefined>();
  readonly onDidChangeTreeData = this.emitter.event;

  constructor(private readonly recent: RecentDenials) {}

  refresh(): void {
    this.emitter.fire(undefined);
  }

  getChildren(node?: DenialNode): DenialNode[] {
    if (!node)
      return this.recent.runs.flatMap((run): DenialNode[] => [
        ...byRule(run),
        ...(run.connections.length ? [{ kind: 'network' as const, run }] : []),
      ]);
    if (node.kind === 'rule') return node.denials.map((denial) => ({ kind: 'denial', run: node.run, denial }));
    if (node.kind === 'network')
      return node.run.connections.map((connection) => ({ kind: 'connection', run: node.run, connection }));
    return [];
  }

  getTreeItem(node: DenialNode): vscode.TreeItem {
    const folders = vscode.workspace.workspaceFolders?.length ?? 0;
    if (node.kind === 'rule') {
      const label = node.rule ? node.rule.pattern : 'no rule (the default: hidden)';
      const item = new vscode.TreeItem(label, vscode.TreeItemCollapsibleState.Expanded);
      const count = node.denials.reduce((n, d) => n + d.count, 0);
      item.description = `${node.rule?.permission ?? 'none'} · ${node.run.preset}${folders > 1 ? ` · ${node.run.folder.name}` : ''} · ${count} refused`;
      item.tooltip = new vscode.MarkdownString(
        `Rule \`${node.rule ? JSON.stringify(node.rule) : 'none'}\` of preset **${node.run.preset}** refused these accesses of \`${printable(node.run.command)}\`.`,
      );
      item.iconPath = new vscode.ThemeIcon('shield');
      item.contextValue = node.rule ? 'denialRule' : 'denialDefault';
      return item;
    }
    if (node.kind === 'network') {
      const item = new vscode.TreeItem('network', vscode.TreeItemCollapsibleState.Expanded);
      const count = node.run.connections.reduce((n, c) => n + c.count, 0);
      item.description = `${node.run.preset}${folders > 1 ? ` · ${node.run.folder.name}` : ''} · ${count} connection${count === 1 ? '' : 's'} refused`;
      item.iconPath = new vscode.ThemeIcon('globe');
      item.contextValue = 'denialNetwork';
      return item;
    }
    if (node.kind === 'connection') {
      const c = node.connection;
      const item = new vscode.TreeItem(`${printable(c.host)}:${c.port}`, vscode.TreeItemCollapsibleState.None);
      item.description = `${printable(c.reason)}${c.count > 1 ? ` ×${c.count}` : ''}`;
      item.tooltip = new vscode.MarkdownString(
        `The ${node.run.preset} preset's network refused \`${printable(c.host)}:${c.port}\` ×${c.count}: ${printable(c.reason)}.\n\nIn \`${printable(node.run.command)}\`, first at ${new Date(c.time * 1000).toLocaleTimeString()}.`,
      );
      item.iconPath = new vscode.ThemeIcon('circle-slash');
      item.contextValue = 'connection';
      return item;
    }
    const d = node.denial;
    const item = new vscode.TreeItem(printable(d.accessed), vscode.TreeItemCollapsibleState.None);
    const who = d.process ? `${printable(d.process)} ` : '';
    item.description = `${KIND_WORDS[d.kind]} · ${who}${d.op}${d.count > 1 ? ` ×${d.count}` : ''} · needs ${d.wants}`;
    item.tooltip = new vscode.MarkdownString(
      [
        `**/workspace/${printable(d.accessed)}** was ${KIND_WORDS[d.kind]} (level \`${d.level}\`; the call needed \`${d.wants}\`).`,
        d.accessed !== d.path ? `Its folder \`${printable(d.path)}\` is hidden.` : '',
        `Refused \`${d.op}\` ×${d.count} by ${d.process ? `\`${printable(d.process)}\` ` : ''}(pid ${d.pid}) at ${new Date(d.time * 1000).toLocaleTimeString()}, in \`${printable(node.run.command)}\`.`,
        `The path as the command named it: \`${printable(d.named)}\`.`,
      ]
        .filter(Boolean)
        .join('\n\n'),
    );
    item.iconPath = new vscode.ThemeIcon(d.kind === 'hidden' ? 'eye-closed' : d.kind === 'unreadable' ? 'eye' : 'lock');
    item.contextValue = 'denial';
    item.resourceUri = vscode.Uri.joinPath(node.run.folder.uri, d.accessed);
    item.command = { command: 'agentfense.denials.openRule', title: 'Open the Rule', arguments: [node] };
    return item;
  }
}

function byRule(run: DeniedRun): DenialNode[] {
  const groups = new Map<string, { rule: NormalizedRule | undefined; denials: WireDenial[] }>();
  for (const d of run.denials.denials) {
    const key = d.rule ? JSON.stringify(d.rule) : '';
    const group = groups.get(key) ?? { rule: d.rule, denials: [] };
    group.denials.push(d);
    groups.set(key, group);
  }
  return [...groups.values()].map((g) => ({ kind: 'rule', run, ...g }));
}
