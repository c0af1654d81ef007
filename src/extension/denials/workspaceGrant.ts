/**
 * Allow for this workspace: the grant's rule written into the folder's
 * `.agentfense/presets.json` (into the active preset when it is one of that file's, else as a
 * new preset extending it, which becomes the active one), shown as a diff first, written only
 * when the user says so, and undoable: the notification's Undo puts the file and the active
 * preset back; the edit itself is an ordinary, undoable edit of the file.
 */
import * as vscode from 'vscode';
import { describeGrant, type AccessGrant } from '../../core/denials/accessGrant';
import {
  grantTarget,
  PresetFileError,
  presetFileWithDestination,
  presetFileWithGrant,
  type GrantTarget,
} from '../../core/denials/presetFileGrant';
import type { PresetNetwork } from '../../shared/networkPolicy';
import { WORKSPACE_PRESETS_FILE } from '../../core/presets/presetCatalog';
import { printable } from '../../shared/denialWire';
import type { Ctx } from '../context';

export const PROPOSED_SCHEME = 'agentfense-proposed';

/** The texts the diff shows on its right (and left, for a file that does not exist yet). */
export class ProposedTexts implements vscode.TextDocumentContentProvider {
  private readonly texts = new Map<string, string>();

  provideTextDocumentContent(uri: vscode.Uri): string {
    return this.texts.get(uri.toString()) ?? '';
  }

  set(uri: vscode.Uri, text: string): void {
    this.texts.set(uri.toString(), text);
  }
}

export const proposedTexts = new ProposedTexts();

async function readText(uri: vscode.Uri): Promise<string | undefined> {
  try {
    return new TextDecoder().decode(await vscode.workspace.fs.readFile(uri));
  } catch {
    return undefined;
  }
}

/** Where a grant goes: the folder and the preset in use; `rerun` is offered once it is written. */
export interface GrantPlace {
  folder: vscode.WorkspaceFolder;
  preset: string;
  rerun?: () => void;
}

/** One change to the presets file: in words, and as text. */
export interface PresetEdit {
  /** "read `/.env` over …", "connections to pypi.org:443". */
  what: string;
  /** The question's title: "Allow read of .env for this workspace?". */
  question: string;
  apply(text: string, target: GrantTarget): string;
}

/** The edit that lets connections to `destination` through, on top of the preset's network now. */
export function destinationEdit(destination: string, current: PresetNetwork): PresetEdit {
  return {
    what: `connections to ${destination}`,
    question: `Allow connections to ${destination} for this workspace?`,
    apply: (text, target) => presetFileWithDestination(text, target, current, destination),
  };
}

/** The edit that writes a path grant's rule. */
export function ruleEdit(grant: AccessGrant): PresetEdit {
  return {
    what: `the rule ${describeGrant(grant)}`,
    question: `Allow ${grant.rule.permission} of ${printable(grant.path)} for this workspace?`,
    apply: (text, target) => presetFileWithGrant(text, target, grant.rule),
  };
}

/** True when the user wrote the rule. */
export async function allowForWorkspace(ctx: Ctx, run: GrantPlace, edit: PresetEdit): Promise<boolean> {
  const uri = vscode.Uri.joinPath(run.folder.uri, WORKSPACE_PRESETS_FILE);
  const before = await readText(uri);
  const target = grantTarget(before ?? '', run.preset, (name) => ctx.presets.catalog.get(name) !== undefined);
  let after: string;
  try {
    after = edit.apply(before ?? '', target);
  } catch (e) {
    if (!(e instanceof PresetFileError)) throw e;
    void vscode.window.showErrorMessage(`AgentFense: cannot add the rule: ${e.message}.`);
    await vscode.window.showTextDocument(uri);
    return false;
  }
  const stamp = Date.now();
  const left =
    before === undefined ? vscode.Uri.from({ scheme: PROPOSED_SCHEME, path: `/${stamp}/none/presets.json` }) : uri;
  const right = vscode.Uri.from({ scheme: PROPOSED_SCHEME, path: `/${stamp}/proposed/presets.json` });
  proposedTexts.set(right, after);
  await vscode.commands.executeCommand(
    'vscode.diff',
    left,
    right,
    `${WORKSPACE_PRESETS_FILE} ↔ with the grant (proposed)`,
    {
      preview: true,
    },
  );
  const write = 'Write the Rule';
  const choice = await vscode.window.showInformationMessage(
    edit.question,
    { modal: true, detail: whatChanges(target, edit.what) },
    write,
  );
  if (choice !== write) return false;
  const previousPreset = ctx.presets.activeName;
  await replaceText(uri, before, after);
  await ctx.presets.reload();
  if (target.kind === 'derived') await ctx.presets.choose(target.name);
  const undo = 'Undo';
  const again = 'Run Again';
  void vscode.window
    .showInformationMessage(
      `AgentFense: allowed ${edit.what} in preset "${target.kind === 'into' ? target.preset : target.name}".`,
      ...(run.rerun ? [again] : []),
      undo,
    )
    .then(async (picked) => {
      if (picked === again) run.rerun?.();
      if (picked !== undo) return;
      await replaceText(uri, after, before);
      await ctx.presets.reload();
      if (target.kind === 'derived') await ctx.presets.choose(previousPreset);
      vscode.window.setStatusBarMessage('$(discard) AgentFense: the grant was taken back', 4000);
    });
  return true;
}

function whatChanges(target: GrantTarget, what: string): string {
  return target.kind === 'into'
    ? `Adds ${what} to preset "${target.preset}" in ${WORKSPACE_PRESETS_FILE}. New sandboxes of that preset get it.`
    : `Adds preset "${target.name}" (${target.base} plus ${what}) to ${WORKSPACE_PRESETS_FILE} and makes it this workspace's preset.`;
}

/**
 * Writes `to` over the file if it still holds `from` (undefined: absent), as a workspace edit,
 * so the editor's undo works too; `to` undefined deletes the file.
 */
async function replaceText(uri: vscode.Uri, from: string | undefined, to: string | undefined): Promise<void> {
  const now = await readText(uri);
  if (now !== from)
    throw new Error(`${WORKSPACE_PRESETS_FILE} changed meanwhile; nothing was written. Look at it and try again.`);
  const edit = new vscode.WorkspaceEdit();
  if (to === undefined) edit.deleteFile(uri, { ignoreIfNotExists: true });
  else if (from === undefined) edit.createFile(uri, { contents: new TextEncoder().encode(to) });
  else {
    const doc = await vscode.workspace.openTextDocument(uri);
    edit.replace(uri, new vscode.Range(doc.positionAt(0), doc.positionAt(doc.getText().length)), to);
  }
  if (!(await vscode.workspace.applyEdit(edit))) throw new Error(`VS Code refused to edit ${WORKSPACE_PRESETS_FILE}.`);
  if (to !== undefined && from !== undefined) await (await vscode.workspace.openTextDocument(uri)).save();
}
