/**
 * Brings a folder's change set up to date with its codebase: one listing, then only the files
 * whose metadata cannot decide are hashed, and a file hashed by an earlier refresh and not
 * touched since keeps its verdict (so a run that changed one file costs one listing, not a
 * download of every change again).
 */
import type { SandboxBackend } from '../backend';
import { confirmChanges, findChangeCandidates, type Change } from './changeComputation';
import { loadIgnoreMatcher } from './ignoreMatcher';
import type { FolderBaseline } from './reviewBaseline';

export interface RefreshOptions {
  /** Extra ignore patterns (the user's `agentfense.ignore`). */
  ignore: readonly string[];
  /** Report changes to ignored paths too. */
  showIgnored: boolean;
  signal?: AbortSignal;
}

export function refreshChanges(
  backend: SandboxBackend,
  baseline: FolderBaseline,
  options: RefreshOptions,
): Promise<readonly Change[]> {
  return baseline.edit(async (draft) => {
    const index = draft.index;
    const remote = index && (await backend.listFiles(index.codebaseId));
    if (!index || !remote) {
      draft.changes = [];
      return draft.changes;
    }
    const isIgnored = await loadIgnoreMatcher(baseline.root.path, options.ignore);
    const candidates = findChangeCandidates(
      index,
      remote.map((r) => ({ path: r.path, isDir: r.isDir, size: r.size, modifiedAtMs: r.modifiedAt?.getTime() ?? 0 })),
      { isIgnored, showIgnored: options.showIgnored, discarded: new Map(Object.entries(draft.discarded)) },
    );
    const { changes, sameContent } = await confirmChanges(
      index,
      candidates,
      (path) => backend.hashFile(index.codebaseId, path, { signal: options.signal }),
      { signal: options.signal, known: draft.changes },
    );
    if (sameContent.length > 0) {
      // Remember "touched but identical" so the next refresh does not download them again.
      for (const s of sameContent) {
        const entry = index.files[s.path];
        if (entry) entry.remoteMtimeMs = s.remoteMtimeMs;
      }
      draft.save();
    }
    // A reopened window shows the last change set before it reaches a server: keep it current on disk.
    if (JSON.stringify(changes) !== JSON.stringify(draft.changes)) draft.save();
    draft.changes = changes;
    return changes;
  });
}
