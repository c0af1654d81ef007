/**
 * Open, accept and discard sandbox changes. Accepting writes the sandbox's versions as ONE
 * WorkspaceEdit, so Edit › Undo reverts it; text files become text edits (undo restores
 * your content), deletions become file deletions (undo restores the file).
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import * as vscode from 'vscode';
import { remoteSignature, type Change } from '../../core/review/changeComputation';
import type { BaselineDraft } from '../../core/review/reviewBaseline';
import { sha256Bytes } from '../../core/sync/contentHash';
import { localStat } from '../../core/sync/localStat';
import { matchesIndex } from '../../core/sync/uploadIndex';
import type { Ctx } from '../context';
import { contentKind, isBinary } from './contentKind';
import { sandboxUri } from './sandboxFileSystem';
import type { ChangeResourceState, FolderReview, ReviewController } from './reviewController';

type ConflictChoice = 'overwrite' | 'skip' | 'cancel';

export async function refreshReviews(controller: ReviewController): Promise<void> {
  for (const folder of vscode.workspace.workspaceFolders ?? []) await controller.refresh(folder);
}

export async function showChanges(controller: ReviewController): Promise<void> {
  await vscode.commands.executeCommand('workbench.view.scm');
  for (const folder of vscode.workspace.workspaceFolders ?? []) await controller.refresh(folder);
}

export async function openFiles(...states: ChangeResourceState[]): Promise<void> {
  for (const s of statesOf(states))
    await vscode.window.showTextDocument(s.resourceUri, { preview: states.length === 1 });
}

export function accept(ctx: Ctx, controller: ReviewController, ...states: unknown[]): Promise<void> {
  return acceptStates(ctx, controller, statesOf(states));
}

export async function discard(ctx: Ctx, ...args: unknown[]): Promise<void> {
  const states = statesOf(args);
  if (states.length === 0) return;
  // Discarding cannot be undone (the sandbox's version is gone from the codebase): ask first.
  const what =
    states.length === 1 ? `the sandbox's change to "${states[0]!.change.path}"` : `${states.length} sandbox changes`;
  const ok = await vscode.window.showWarningMessage(
    `Discard ${what}?`,
    { modal: true, detail: "Your workspace files stay as they are; the sandbox's versions are lost." },
    'Discard',
  );
  if (ok) await discardStates(ctx, states);
}

export async function acceptAll(ctx: Ctx, controller: ReviewController, arg?: unknown): Promise<void> {
  const review = await reviewOf(controller, arg);
  if (review) await acceptStates(ctx, controller, review.states);
}

export async function discardAll(ctx: Ctx, controller: ReviewController, arg?: unknown): Promise<void> {
  const review = await reviewOf(controller, arg);
  if (!review || review.changes.length === 0) return;
  const ok = await vscode.window.showWarningMessage(
    `Discard all ${review.changes.length} sandbox changes in ${review.folder.name}?`,
    {
      modal: true,
      detail: "Your workspace files are uploaded back into the sandbox's codebase; the sandbox's versions are lost.",
    },
    'Discard All',
  );
  if (ok) await discardStates(ctx, review.states);
}

export async function acceptFolder(ctx: Ctx, controller: ReviewController, ...args: unknown[]): Promise<void> {
  // SCM tree folders pass their resource states (or a node with a uri); accept what is below.
  const states = statesOf(args);
  if (states.length) return acceptStates(ctx, controller, states);
  const uri =
    (args[0] as { uri?: vscode.Uri; resourceUri?: vscode.Uri } | undefined)?.uri ??
    (args[0] as { resourceUri?: vscode.Uri })?.resourceUri;
  if (!uri) return;
  const review = controller.reviewFor(uri);
  const prefix = uri.toString().replace(/\/?$/, '/');
  const below = review?.states.filter((s) => s.resourceUri.toString().startsWith(prefix)) ?? [];
  await acceptStates(ctx, controller, below);
}

function statesOf(args: unknown[]): ChangeResourceState[] {
  const flat = args.flat(2) as unknown[];
  const seen = new Set<string>();
  return flat.filter((a): a is ChangeResourceState => {
    if (!a || typeof a !== 'object' || !('change' in a) || !('review' in a)) return false;
    const key = (a as ChangeResourceState).resourceUri.toString();
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

async function reviewOf(controller: ReviewController, arg: unknown): Promise<FolderReview | undefined> {
  const all = controller.all.filter((r) => r.changes.length > 0);
  const byArg = controller.all.find(
    (r) =>
      r.scm === arg ||
      r.group === arg ||
      (arg as { rootUri?: vscode.Uri })?.rootUri?.toString() === r.folder.uri.toString(),
  );
  if (byArg) return byArg;
  if (all.length <= 1) return all[0];
  const picked = await vscode.window.showQuickPick(
    all.map((r) => ({ label: r.folder.name, description: `${r.changes.length} changes`, review: r })),
    { placeHolder: 'Folder whose sandbox changes to handle' },
  );
  return picked?.review;
}

export async function openDiff(ctx: Ctx, controller: ReviewController, state: ChangeResourceState): Promise<void> {
  const { change, review } = state;
  const codebaseId = review.codebaseId;
  if (!codebaseId) return;
  const name = change.path.split('/').pop();
  const max = ctx.config.maxDiffBytes;
  const local = await localStat(review.baseline.root, change.path);
  let kind = contentKind(undefined, Math.max(change.size, local?.size ?? 0), max);
  if (kind === 'text' && change.kind !== 'deleted') {
    const bytes = await controller.fs.readFile(sandboxUri(codebaseId, change.path));
    if (isBinary(bytes)) kind = 'binary';
  }
  if (kind === 'text' && change.kind !== 'added' && local) {
    const bytes = await readFile(state.resourceUri.fsPath);
    if (isBinary(bytes)) kind = 'binary';
  }
  if (kind !== 'text') {
    const why =
      kind === 'binary'
        ? 'is a binary file'
        : `is larger than ${Math.round(max / 1024)} KB (agentfense.review.maxDiffBytes)`;
    const choice = await vscode.window.showInformationMessage(
      `"${change.path}" ${why}, so no text diff is shown. The sandbox ${change.kind} it (${change.size} bytes).`,
      'Accept',
      'Discard',
    );
    if (choice === 'Accept') await acceptStates(ctx, controller, [state]);
    else if (choice === 'Discard') await discardStates(ctx, [state]);
    return;
  }
  const left = change.kind === 'added' ? sandboxUri(codebaseId, change.path, { empty: true }) : state.resourceUri;
  const right =
    change.kind === 'deleted'
      ? sandboxUri(codebaseId, change.path, { empty: true })
      : sandboxUri(codebaseId, change.path);
  const what = { added: 'added by the sandbox', modified: 'Workspace ↔ Sandbox', deleted: 'deleted by the sandbox' }[
    change.kind
  ];
  await vscode.commands.executeCommand('vscode.diff', left, right, `${name} (${what})`, { preview: true });
}

/** The workspace file changed since the upload: ask before replacing the user's edits. */
async function askConflict(state: ChangeResourceState, remaining: number): Promise<ConflictChoice | 'overwriteAll'> {
  const buttons = ['Open Diff', 'Overwrite', 'Skip', ...(remaining > 1 ? ['Overwrite All'] : [])];
  const choice = await vscode.window.showWarningMessage(
    `"${state.change.path}" changed in your workspace since it was uploaded to the sandbox.`,
    {
      modal: true,
      detail: "Accepting the sandbox's version replaces your edits (Undo can bring them back for text files).",
    },
    ...buttons,
  );
  if (choice === 'Open Diff') {
    await vscode.commands.executeCommand('agentfense.review.openDiff', state);
    return 'skip';
  }
  if (choice === 'Overwrite') return 'overwrite';
  if (choice === 'Overwrite All') return 'overwriteAll';
  if (choice === 'Skip') return 'skip';
  return 'cancel';
}

async function acceptStates(ctx: Ctx, controller: ReviewController, states: ChangeResourceState[]): Promise<void> {
  if (states.length === 0) return;
  const review = states[0]!.review;
  // One edit of the baseline: no upload or refresh of this folder runs in between.
  const accepted = await review.baseline.edit((draft) => acceptLocked(ctx, controller, review, draft, states));
  if (!accepted) return;
  const n = accepted.count;
  const msg = `AgentFense: accepted ${n} change${n === 1 ? '' : 's'} (Edit › Undo reverts ${n === 1 ? 'it' : 'them'}).`;
  if (accepted.backupDir)
    void vscode.window.showInformationMessage(`${msg} Replaced binary files were backed up to ${accepted.backupDir}.`);
  else vscode.window.setStatusBarMessage(`$(check) ${msg}`, 5000);
}

async function acceptLocked(
  ctx: Ctx,
  controller: ReviewController,
  review: FolderReview,
  draft: BaselineDraft,
  states: ChangeResourceState[],
): Promise<{ count: number; backupDir?: string } | undefined> {
  const index = draft.index;
  const codebaseId = index?.codebaseId;
  if (!index || !codebaseId) return undefined;
  const edit = new vscode.WorkspaceEdit();
  const meta = { label: 'Accept sandbox changes', needsConfirmation: false };
  const accepted: { change: Change; content?: Uint8Array }[] = [];
  const docsToSave: vscode.TextDocument[] = [];
  const binaryOverwrites: { path: string; old: Buffer }[] = [];
  let overwriteAll = false;

  await vscode.window.withProgress(
    {
      location: vscode.ProgressLocation.Notification,
      title: `AgentFense: accepting ${states.length} sandbox change${states.length === 1 ? '' : 's'}`,
      cancellable: true,
    },
    async (progress, token) => {
      for (let i = 0; i < states.length; i++) {
        if (token.isCancellationRequested) throw new vscode.CancellationError();
        const state = states[i]!;
        const { change } = state;
        const uri = state.resourceUri;
        progress.report({ message: change.path, increment: 100 / states.length });
        const local = await localStat(review.baseline.root, change.path);
        const openDoc = vscode.workspace.textDocuments.find((d) => d.uri.toString() === uri.toString());
        const conflict =
          (change.kind === 'added' ? local !== undefined : !matchesIndex(index.files[change.path], local)) ||
          openDoc?.isDirty === true;
        if (conflict && !overwriteAll) {
          const choice = await askConflict(state, states.length - i);
          if (choice === 'cancel') return;
          if (choice === 'skip') continue;
          if (choice === 'overwriteAll') overwriteAll = true;
        }
        if (change.kind === 'deleted') {
          if (local) edit.deleteFile(uri, { ignoreIfNotExists: true }, meta);
          accepted.push({ change });
          continue;
        }
        // Through the review's file system: the bytes the diff showed are not downloaded again.
        const content = await controller.fs.readFile(sandboxUri(codebaseId, change.path));
        if (!local) {
          edit.createFile(uri, { contents: content, ignoreIfExists: false }, meta);
        } else if (!isBinary(content)) {
          const doc = openDoc ?? (await vscode.workspace.openTextDocument(uri));
          if (!doc.isDirty) docsToSave.push(doc);
          const full = new vscode.Range(doc.positionAt(0), doc.positionAt(doc.getText().length));
          edit.replace(uri, full, new TextDecoder().decode(content), meta);
        } else {
          // Undo of an overwriting create deletes the file instead of restoring it, so keep a copy.
          binaryOverwrites.push({ path: change.path, old: await readFile(uri.fsPath) });
          edit.createFile(uri, { contents: content, overwrite: true }, meta);
        }
        accepted.push({ change, content });
      }
    },
  );
  if (accepted.length === 0) return undefined;
  let backupDir: string | undefined;
  if (binaryOverwrites.length > 0) {
    backupDir = vscode.Uri.joinPath(ctx.extension.globalStorageUri, 'backups', `${Date.now()}`).fsPath;
    for (const b of binaryOverwrites) {
      const target = `${backupDir}/${b.path}`;
      await mkdir(dirname(target), { recursive: true });
      await writeFile(target, b.old);
    }
  }
  if (!(await vscode.workspace.applyEdit(edit))) {
    void vscode.window.showErrorMessage('AgentFense: the workspace edit was not applied; nothing was changed.');
    return undefined;
  }
  for (const doc of docsToSave) await doc.save();
  // The workspace now equals the codebase for these files: record that as the baseline.
  for (const { change, content } of accepted) {
    if (change.kind === 'deleted' || !content) delete index.files[change.path];
    else
      index.files[change.path] = {
        size: content.length,
        mtimeMs: -1, // unknown until the next upload looks; it then only re-hashes
        sha256: sha256Bytes(content),
        remoteMtimeMs: change.remoteMtimeMs,
      };
  }
  const handled = new Set(accepted.map((a) => a.change.path));
  draft.changes = draft.changes.filter((c) => !handled.has(c.path));
  draft.save();
  return { count: accepted.length, backupDir };
}

async function discardStates(ctx: Ctx, states: ChangeResourceState[]): Promise<void> {
  if (states.length === 0) return;
  const review = states[0]!.review;
  const keptAdded = await review.baseline.edit((draft) => discardLocked(ctx, review, draft, states));
  if (keptAdded > 0) {
    void vscode.window.showInformationMessage(
      `AgentFense: ${keptAdded} file${keptAdded === 1 ? '' : 's'} the sandbox created stay${keptAdded === 1 ? 's' : ''} in its codebase (the protocol cannot delete single files) but ${keptAdded === 1 ? 'is' : 'are'} hidden from the review. The next upload after a local deletion starts a clean codebase.`,
    );
  }
}

/** Puts the workspace's versions back into the codebase; returns how many added files stay there hidden. */
async function discardLocked(
  ctx: Ctx,
  review: FolderReview,
  draft: BaselineDraft,
  states: ChangeResourceState[],
): Promise<number> {
  const index = draft.index;
  const codebaseId = index?.codebaseId;
  if (!index || !codebaseId) return 0;
  const restored = new Set<string>();
  const handled = new Set<string>();
  let keptAdded = 0;
  await vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: 'AgentFense: discarding sandbox changes' },
    async (progress) => {
      for (const { change, resourceUri } of states) {
        progress.report({ message: change.path, increment: 100 / states.length });
        const local = await localStat(review.baseline.root, change.path);
        if (change.kind === 'added' || !local) {
          // No delete-file RPC: the file stays in the codebase, hidden from the review until it changes again.
          draft.discarded[change.path] = remoteSignature(change.size, change.remoteMtimeMs);
          if (change.kind === 'added') keptAdded++;
          handled.add(change.path);
          continue;
        }
        const content = await readFile(resourceUri.fsPath);
        await ctx.backend.uploadFile(codebaseId, change.path, content);
        index.files[change.path] = { size: local.size, mtimeMs: local.mtimeMs, sha256: sha256Bytes(content) };
        delete draft.discarded[change.path];
        restored.add(change.path);
        handled.add(change.path);
      }
    },
  );
  await ctx.sync.recordRemoteTimes(index, restored);
  draft.changes = draft.changes.filter((c) => !handled.has(c.path));
  draft.save();
  return keptAdded;
}
