/**
 * Why a workspace path is not in the codebase that walkWorkspace builds from the folder: the
 * walker's checks (entry kind, ignore rules, codebase names, unreadable folders), asked about
 * one path instead of run over the whole tree, so the Explorer's preview can say exactly what
 * the sandbox will not contain, and why.
 */
import { constants, promises as fs } from 'node:fs';
import { join } from 'node:path';
import { normalizeCodebasePath } from '../../shared/codebasePath';
import {
  matchIgnore,
  nestedIgnoreScope,
  readIgnoreFiles,
  rootIgnoreScope,
  type IgnoreMatch,
  type IgnoreScope,
} from './ignoreRules';

/** The first reason, from the root down, that the walker leaves `path` (the asked path or a folder above it) out. */
export type UploadExclusion =
  | { kind: 'ignored'; path: string; match: IgnoreMatch }
  /** Links are never followed: they could leave the folder or loop. */
  | { kind: 'symlink'; path: string }
  /** Sockets, FIFOs, devices. */
  | { kind: 'special'; path: string }
  /** A name a codebase cannot hold (e.g. with a backslash). */
  | { kind: 'invalidName'; path: string; reason: string }
  /** A folder the walker cannot list; `path` is '' for the root. */
  | { kind: 'unreadable'; path: string };

/** The walker's options that decide what is left out (WalkOptions without the signal). */
export interface ExclusionOptions {
  ignore?: readonly string[];
  noDefaultIgnores?: boolean;
}

interface FolderRules {
  listable: boolean;
  /** Undefined for a nested folder without ignore files. */
  scope: IgnoreScope | undefined;
}

/**
 * Explains exclusions under one folder. Each folder's ignore files are read once and kept:
 * the Explorer asks about every file it shows. Call `forget` when an ignore file changes.
 */
export class UploadExclusions {
  private readonly folders = new Map<string, Promise<FolderRules>>();

  constructor(
    readonly root: string,
    private readonly options: ExclusionOptions = {},
  ) {}

  /** Undefined when the walker would upload `relPath` (`/`-separated, relative to the root), or when it does not exist. */
  async exclusionOf(relPath: string): Promise<UploadExclusion | undefined> {
    const parts = relPath.split('/').filter((p) => p !== '');
    const rootRules = await this.rulesOf('');
    if (!rootRules.listable) return { kind: 'unreadable', path: '' };
    const scopes: IgnoreScope[] = [rootRules.scope!];
    // The walker's order for each entry on the way down: its kind, the ignore rules, its name.
    for (let i = 0; i < parts.length; i++) {
      const path = parts.slice(0, i + 1).join('/');
      const stat = await fs.lstat(join(this.root, path)).catch(() => undefined);
      if (!stat) return undefined;
      if (stat.isSymbolicLink()) return { kind: 'symlink', path };
      if (!stat.isFile() && !stat.isDirectory()) return { kind: 'special', path };
      const match = matchIgnore(path, stat.isDirectory(), scopes);
      if (match) return { kind: 'ignored', path, match };
      try {
        normalizeCodebasePath(path);
      } catch (err) {
        return { kind: 'invalidName', path, reason: (err as Error).message };
      }
      if (stat.isDirectory() && i < parts.length - 1) {
        const folder = await this.rulesOf(path);
        if (!folder.listable) return { kind: 'unreadable', path };
        if (folder.scope) scopes.push(folder.scope);
      }
    }
    return undefined;
  }

  /** Drops the ignore files read so far (one of them changed). */
  forget(): void {
    this.folders.clear();
  }

  private rulesOf(relDir: string): Promise<FolderRules> {
    let rules = this.folders.get(relDir);
    if (!rules) {
      // A failed read is not kept: the next question tries again.
      rules = this.readRules(relDir).catch((err: unknown) => {
        this.folders.delete(relDir);
        throw err;
      });
      this.folders.set(relDir, rules);
    }
    return rules;
  }

  private async readRules(relDir: string): Promise<FolderRules> {
    const absDir = join(this.root, relDir);
    // The walker lists each folder with readdir; one it cannot read contributes nothing.
    const listable = await fs.access(absDir, constants.R_OK).then(
      () => true,
      () => false,
    );
    if (!listable) return { listable, scope: undefined };
    const files = await readIgnoreFiles(absDir, relDir);
    if (relDir === '')
      return { listable, scope: rootIgnoreScope(files, this.options.ignore ?? [], !this.options.noDefaultIgnores) };
    return { listable, scope: nestedIgnoreScope(relDir, files) };
  }
}
