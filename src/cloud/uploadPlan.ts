/**
 * What a cloud sandbox gets of a codebase, decided by its rules: a `none` file never leaves
 * this machine, a `view` file arrives as an empty placeholder nobody can read (mode 000), a
 * `read` file with its bytes and no write bit, a `write` file as it is. The sandbox holds
 * what was pushed last (`pushed`); `pushPlan` is what changes to bring it to the codebase.
 */
import type { PermissionEngine, PermissionLevel } from '../shared/permissions';
import type { StoredEntry } from './localCodebases';

export type Placement = 'placeholder' | 'read-only' | 'writable';

export interface PlannedFile {
  path: string;
  placement: Placement;
  /** The bytes to send: the blob's hash (a placeholder sends none). */
  checksum?: string;
  /** The mode it gets in the sandbox. */
  mode: number;
  /** Equal keys: nothing to push. */
  key: string;
}

export function placementOf(level: PermissionLevel): Placement | undefined {
  switch (level) {
    case 'none':
      return undefined;
    case 'view':
      return 'placeholder';
    case 'read':
      return 'read-only';
    case 'write':
      return 'writable';
  }
}

/** The file as the sandbox gets it, or undefined when it stays on this machine. */
export function plannedFile(path: string, entry: StoredEntry, rules: PermissionEngine): PlannedFile | undefined {
  const placement = placementOf(rules.permissionOf(path));
  if (!placement) return undefined;
  const executable = (entry.mode & 0o111) !== 0;
  const mode =
    placement === 'placeholder' ? 0 : placement === 'read-only' ? (executable ? 0o555 : 0o444) : entry.mode || 0o644;
  const checksum = placement === 'placeholder' ? undefined : entry.checksum;
  return { path, placement, checksum, mode, key: `${placement}:${checksum ?? ''}:${mode.toString(8)}` };
}

export interface PushPlan {
  /** Files to (re)write, with their modes. */
  write: PlannedFile[];
  /** Paths to delete: no longer in the codebase, now `none`, or a refused change to undo. */
  remove: string[];
}

/**
 * `dirty`: paths the sandbox changed against its rules (reported, not merged): each is written
 * again from the codebase, or removed when the codebase has no such file for it.
 */
export function pushPlan(
  files: ReadonlyMap<string, StoredEntry>,
  rules: PermissionEngine,
  pushed: Readonly<Record<string, string>>,
  dirty: ReadonlySet<string> = new Set(),
): { plan: PushPlan; wanted: Map<string, PlannedFile> } {
  const wanted = new Map<string, PlannedFile>();
  for (const [path, entry] of files) {
    const f = plannedFile(path, entry, rules);
    if (f) wanted.set(path, f);
  }
  const write = [...wanted.values()].filter((f) => pushed[f.path] !== f.key || dirty.has(f.path));
  const remove = [...new Set([...Object.keys(pushed), ...dirty])].filter((p) => !wanted.has(p));
  return { plan: { write, remove }, wanted };
}
