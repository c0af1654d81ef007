/** Commands on presets: choose the active one, copy one into the workspace, find a rule's source. */
import * as vscode from 'vscode';
import type { PresetNode } from './presetsView';
import type { Ctx } from '../context';
import { stopOtherPresetSandboxes } from './otherPresetSandboxes';
import { WORKSPACE_PRESETS_FILE, type PresetEntry } from '../../core/presets/presetCatalog';
import { pickPreset } from './presetPicker';

const BUILTIN_SCHEME = 'agentfense-preset';

function entryOf(arg: unknown, ctx: Ctx): PresetEntry | undefined {
  if (arg && typeof arg === 'object' && 'entry' in arg) return (arg as { entry: PresetEntry }).entry;
  if (typeof arg === 'string') return ctx.presets.catalog.get(arg);
  return undefined;
}

/** Built-in presets are shown as read-only JSON documents (Reveal Rule Source opens them). */
export function registerBuiltinPresetDocuments(ctx: Ctx): void {
  ctx.push(
    vscode.workspace.registerTextDocumentContentProvider(BUILTIN_SCHEME, {
      provideTextDocumentContent: (uri) => {
        const name = uri.path.replace(/^\//, '').replace(/\.json$/, '');
        const entry = ctx.presets.catalog.get(name);
        if (!entry) return `// unknown preset ${name}`;
        return `// Built-in AgentFense preset "${name}" (read-only): ${entry.description}\n// Rules in evaluation order: higher priority first, first match wins.\n${JSON.stringify(
          { [name]: { rules: entry.rules } },
          null,
          2,
        )}\n`;
      },
    }),
  );
}

async function activatePreset(ctx: Ctx, name: string): Promise<void> {
  const entry = ctx.presets.catalog.get(name);
  if (!entry?.rules) {
    void vscode.window.showErrorMessage(
      `AgentFense: preset "${name}" cannot be used: ${entry?.error ?? 'unknown preset'}`,
    );
    return;
  }
  await ctx.presets.choose(name);
  let stopped = 0;
  try {
    stopped = await stopOtherPresetSandboxes(ctx, name);
  } catch (e) {
    // The switch itself worked; a sandbox left running is not worth an error.
    ctx.log.warn(`Stopping the other presets' sandboxes: ${e instanceof Error ? e.message : String(e)}`);
  }
  const also = stopped ? ` (stopped ${stopped} sandbox${stopped === 1 ? '' : 'es'} of other presets)` : '';
  vscode.window.setStatusBarMessage(`$(shield) AgentFense: sandboxes now use "${name}"${also}`, 4000);
}

export async function selectPreset(ctx: Ctx): Promise<void> {
  const name = await pickPreset(ctx);
  if (name) await activatePreset(ctx, name);
}

/** A Presets view node or a preset name; without one, the picker. */
export async function usePreset(ctx: Ctx, arg?: PresetNode | string): Promise<void> {
  const entry = entryOf(arg, ctx);
  if (entry) await activatePreset(ctx, entry.name);
  else await vscode.commands.executeCommand('agentfense.selectPreset');
}

export async function duplicatePreset(ctx: Ctx, arg?: PresetNode | string): Promise<void> {
  let entry = entryOf(arg, ctx);
  if (!entry) {
    const name = await pickPreset(ctx, 'Preset to copy into .agentfense/presets.json');
    entry = name ? ctx.presets.catalog.get(name) : undefined;
    if (!entry) return;
  }
  const folder = await ctx.pickFolder('Folder whose .agentfense/presets.json gets the copy');
  if (!folder) return;
  const uri = vscode.Uri.joinPath(folder.uri, WORKSPACE_PRESETS_FILE);
  let existing: Record<string, unknown> = {};
  let exists = false;
  try {
    const text = new TextDecoder().decode(await vscode.workspace.fs.readFile(uri));
    exists = true;
    existing = text.trim() ? (JSON.parse(text) as Record<string, unknown>) : {};
  } catch (e) {
    if (exists) {
      // Never overwrite a file we could not parse: the user's text would be lost.
      void vscode.window.showErrorMessage(
        `AgentFense: ${WORKSPACE_PRESETS_FILE} is not valid JSON (${(e as Error).message}); fix it first.`,
      );
      await vscode.window.showTextDocument(uri);
      return;
    }
  }
  const suggested = uniqueName(`${entry.name}-copy`, existing, ctx);
  const name = await vscode.window.showInputBox({
    title: `Copy preset "${entry.name}" into ${WORKSPACE_PRESETS_FILE}`,
    value: suggested,
    validateInput: (v) =>
      !v.trim()
        ? 'Give the preset a name'
        : ctx.presets.catalog.get(v.trim())?.source === 'builtin'
          ? 'That is a built-in preset name'
          : v.trim() in existing
            ? 'A workspace preset has this name already'
            : undefined,
  });
  if (!name) return;
  const copy =
    entry.source === 'builtin'
      ? { extends: entry.name, description: `Based on ${entry.name}; add your rules below.`, rules: [] as unknown[] }
      : { ...(entry.extends ? { extends: entry.extends } : {}), rules: entry.ownRules };
  const next = { ...existing, [name.trim()]: copy };
  // A WorkspaceEdit so the change can be undone like any edit.
  const edit = new vscode.WorkspaceEdit();
  const content = new TextEncoder().encode(JSON.stringify(next, null, 2) + '\n');
  if (exists) {
    const doc = await vscode.workspace.openTextDocument(uri);
    edit.replace(
      uri,
      new vscode.Range(doc.positionAt(0), doc.positionAt(doc.getText().length)),
      new TextDecoder().decode(content),
    );
  } else {
    edit.createFile(uri, { contents: content });
  }
  await vscode.workspace.applyEdit(edit);
  const doc = await vscode.workspace.openTextDocument(uri);
  await doc.save();
  const editor = await vscode.window.showTextDocument(doc);
  revealText(editor, JSON.stringify(name.trim()));
  await ctx.presets.reload();
}

function uniqueName(base: string, existing: Record<string, unknown>, ctx: Ctx): string {
  let name = base;
  for (let i = 2; name in existing || ctx.presets.catalog.get(name); i++) name = `${base}-${i}`;
  return name;
}

export async function revealRuleSource(_ctx: Ctx, node: PresetNode | undefined): Promise<void> {
  if (!node || node.kind === 'fileError') return;
  const entry = node.entry;
  const pattern = node.kind === 'rule' ? node.rule.pattern : undefined;
  if (entry.source === 'builtin') {
    const doc = await vscode.workspace.openTextDocument(
      vscode.Uri.from({ scheme: BUILTIN_SCHEME, path: `/${entry.name}.json` }),
    );
    const editor = await vscode.window.showTextDocument(doc, { preview: true });
    revealText(editor, pattern ? JSON.stringify(pattern) : JSON.stringify(entry.name));
    return;
  }
  let uri: vscode.Uri | undefined;
  if (entry.source === 'workspace') {
    for (const folder of vscode.workspace.workspaceFolders ?? []) {
      const candidate = vscode.Uri.joinPath(folder.uri, WORKSPACE_PRESETS_FILE);
      try {
        const text = new TextDecoder().decode(await vscode.workspace.fs.readFile(candidate));
        if (text.includes(JSON.stringify(entry.name))) {
          uri = candidate;
          break;
        }
      } catch {
        // not in this folder
      }
    }
  } else {
    const inspected = vscode.workspace.getConfiguration('agentfense').inspect<Record<string, unknown>>('presets');
    if (
      inspected?.workspaceFolderValue &&
      entry.name in inspected.workspaceFolderValue &&
      vscode.workspace.workspaceFolders?.[0]
    ) {
      uri = vscode.Uri.joinPath(vscode.workspace.workspaceFolders[0].uri, '.vscode', 'settings.json');
    } else if (inspected?.workspaceValue && entry.name in inspected.workspaceValue) {
      uri =
        vscode.workspace.workspaceFile ??
        (vscode.workspace.workspaceFolders?.[0] &&
          vscode.Uri.joinPath(vscode.workspace.workspaceFolders[0].uri, '.vscode', 'settings.json'));
    } else {
      await vscode.commands.executeCommand('workbench.action.openSettingsJson');
      const editor = vscode.window.activeTextEditor;
      if (editor) revealText(editor, JSON.stringify(entry.name), pattern ? JSON.stringify(pattern) : undefined);
      return;
    }
  }
  if (!uri) {
    void vscode.window.showWarningMessage(`AgentFense: could not find where preset "${entry.name}" is defined.`);
    return;
  }
  const editor = await vscode.window.showTextDocument(uri);
  revealText(editor, JSON.stringify(entry.name), pattern ? JSON.stringify(pattern) : undefined);
}

/** Selects `then` after the first `first` (a preset name, then a pattern inside it). */
function revealText(editor: vscode.TextEditor, first: string, then?: string): void {
  const text = editor.document.getText();
  let at = text.indexOf(first);
  if (at < 0) return;
  let len = first.length;
  if (then) {
    const inner = text.indexOf(then, at);
    if (inner >= 0) {
      at = inner;
      len = then.length;
    }
  }
  const range = new vscode.Range(editor.document.positionAt(at), editor.document.positionAt(at + len));
  editor.selection = new vscode.Selection(range.start, range.end);
  editor.revealRange(range, vscode.TextEditorRevealType.InCenter);
}
