/**
 * The Explorer preview: each file's badge says what the active preset makes of it inside
 * the sandbox (⊘ hidden, V view, R read, W write); hidden files are also faded.
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { PermissionLevel } from '../../shared/permissions';
import type { Ctx } from '../context';
import { affects } from '../config';

export const LEVEL_BADGES: Record<PermissionLevel, string> = { none: '⊘', view: 'V', read: 'R', write: 'W' };
const LEVEL_TOOLTIPS: Record<PermissionLevel, string> = {
  none: 'hidden from the sandbox',
  view: 'listed in the sandbox, content unreadable',
  read: 'read-only in the sandbox',
  write: 'readable and writable in the sandbox',
};

export class PermissionDecorationProvider implements vscode.FileDecorationProvider {
  private readonly emitter = new vscode.EventEmitter<vscode.Uri | vscode.Uri[] | undefined>();
  readonly onDidChangeFileDecorations = this.emitter.event;

  constructor(private readonly ctx: Ctx) {
    ctx.push(
      ctx.presets.onDidChange(() => this.emitter.fire(undefined)),
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (affects(e, 'permissionPreview') || affects(e, 'activePreset')) this.emitter.fire(undefined);
      }),
    );
  }

  provideFileDecoration(uri: vscode.Uri): vscode.FileDecoration | undefined {
    if (uri.scheme !== 'file' || !this.ctx.config.permissionPreview) return undefined;
    const folder = vscode.workspace.getWorkspaceFolder(uri);
    if (!folder) return undefined;
    const rel = path.relative(folder.uri.fsPath, uri.fsPath).split(path.sep).join('/');
    if (rel === '' || rel.startsWith('..')) return undefined;
    const engine = this.ctx.presets.activeEngine();
    if (!engine) return undefined;
    const level = engine.permissionOf(rel);
    const decoration = new vscode.FileDecoration(
      LEVEL_BADGES[level],
      `AgentFense (${this.ctx.presets.activeName}): ${LEVEL_TOOLTIPS[level]}`,
      level === 'none' ? new vscode.ThemeColor('gitDecoration.ignoredResourceForeground') : undefined,
    );
    // A hidden file must not colour its whole folder chain.
    decoration.propagate = false;
    return decoration;
  }
}

export function registerPermissionDecorations(ctx: Ctx): void {
  ctx.push(vscode.window.registerFileDecorationProvider(new PermissionDecorationProvider(ctx)));
}

export async function togglePermissionPreview(ctx: Ctx): Promise<void> {
  const on = !ctx.config.permissionPreview;
  await ctx.config.setPermissionPreview(on);
  vscode.window.setStatusBarMessage(`AgentFense: permission preview ${on ? 'on' : 'off'}`, 3000);
}
