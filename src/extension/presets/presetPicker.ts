/** The preset quick pick, used by "Select Preset" (also the status bar's click) and "Duplicate Preset". */
import * as vscode from 'vscode';
import type { Ctx } from '../context';

/** Quick pick of every preset, the active one first and marked. */
export async function pickPreset(ctx: Ctx, placeHolder = 'Preset for new sandboxes'): Promise<string | undefined> {
  const active = ctx.presets.activeName;
  const items = ctx.presets.catalog.entries.map((e) => ({
    label: `${e.name === active ? '$(check)' : e.rules ? '$(shield)' : '$(error)'} ${e.name}`,
    name: e.name,
    description:
      e.source === 'builtin' ? 'built-in' : e.source === 'settings' ? 'settings' : '.agentfense/presets.json',
    detail: e.rules ? e.description : `Invalid: ${e.error}`,
  }));
  const picked = await vscode.window.showQuickPick(items, {
    placeHolder,
    matchOnDescription: true,
    matchOnDetail: true,
  });
  return picked?.name;
}
