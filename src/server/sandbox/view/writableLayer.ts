/**
 * A sandbox's private copy-on-write layer over each writable root of its view. Writes never
 * touch the view or the blob store:
 *   overlay: an overlayfs per writable root (lower = the shared view, upper = per sandbox);
 *   copy:    real copies of the writable root's files (never links: a link would let a write
 *            reach a blob), for servers that cannot mount.
 * A writable root that is empty in the view (e.g. an output folder the codebase does not
 * have) gets a plain per-sandbox directory in both modes: everything in it is new, so there
 * is nothing to copy-on-write, and mounting/unmounting an overlay cost about half a start.
 * detectChanges() reports what differs from the view; changeMerger.ts decides what to merge.
 */
import * as fs from 'node:fs';
import { chmod, chown, copyFile, lstat, mkdir, open, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { SandboxIdentity } from '../sandboxIdentity';
import type { ViewLease } from './viewCache';
import { isUnder } from './viewPlan';
import { mountOverlay, unmount } from './hostMounts';
import { walkBeneath } from './treeWalk';
import { removeTree } from './treeRemoval';
import { privateDir, sandboxWalkDir } from '../../dataDirAccess';

export type CowMode = 'overlay' | 'copy';

/** A host directory to bind read-write at /workspace/<root>. */
export interface LayerMount {
  root: string;
  hostPath: string;
}

export interface ChangedFile {
  /** Where the new content is on the host: `rel` inside the trusted dir `base`. */
  base: string;
  rel: string;
  /** ino:size:mtimeNs — tells a later merge whether the file changed again. */
  fingerprint: string;
  /** Apparent size (a sparse file's holes count): what storing it would cost. */
  size: number;
}

export interface DetectedChanges {
  writes: Map<string, ChangedFile>;
  deletes: Set<string>;
  /** Codebase paths of directories below the depth bound: not walked, nothing in them merged. */
  tooDeep: string[];
  /** Apparent bytes of every regular file in the layer, changed or not. */
  layerBytes: number;
}

const fingerprintOf = (st: fs.BigIntStats) => `${st.ino}:${st.size}:${st.mtimeNs}`;
const joinRel = (a: string, b: string) => (a === '' ? b : b === '' ? a : `${a}/${b}`);
const depthOf = (path: string) => (path === '' ? 0 : path.split('/').length);

async function lstatOrUndefined(p: string): Promise<fs.BigIntStats | undefined> {
  try {
    return await lstat(p, { bigint: true });
  } catch {
    return undefined;
  }
}

export class WritableLayer {
  readonly mounts: LayerMount[] = [];
  /** copy mode: what each copied file looked like right after copying. */
  private readonly copied = new Map<string, string>();
  private readonly mounted: string[] = [];
  /** Indexes into `mounts` that are overlays (the others are plain directories). */
  private readonly overlays = new Set<number>();

  /**
   * `sandboxDir` holds the overlay mount points; `layerDir` the written data (upper, work and
   * copied dirs): as root a size-limited tmpfs, so the quota is the kernel's.
   */
  constructor(
    private readonly sandboxDir: string,
    readonly mode: CowMode,
    private readonly identity: SandboxIdentity,
    readonly view: ViewLease,
    private readonly layerDir: string = sandboxDir,
  ) {}

  async setUp(): Promise<LayerMount[]> {
    const { plan } = this.view;
    for (const [n, root] of plan.writableRoots.entries()) {
      const lower = join(this.view.dir, root);
      if (this.mode === 'overlay' && (await readdir(lower)).length > 0) {
        // layer/ is the server's alone; bwrap only walks mnt/ to the mount point.
        const layerDir = join(this.layerDir, 'layer', String(n));
        const upper = join(layerDir, 'upper');
        const work = join(layerDir, 'work');
        const target = join(this.sandboxDir, 'mnt', String(n));
        privateDir(join(this.layerDir, 'layer'));
        for (const d of [upper, work]) await mkdir(d, { recursive: true, mode: 0o700 });
        sandboxWalkDir(join(this.sandboxDir, 'mnt'), this.identity);
        await mkdir(target, { recursive: true, mode: 0o700 });
        // The overlay's root takes the upper dir's owner and mode.
        await this.own(upper, (await lstat(lower)).mode & 0o7777);
        await mountOverlay(lower, layerDir, upper, work, target);
        this.mounted.push(target);
        this.overlays.add(this.mounts.length);
        this.mounts.push({ root, hostPath: target });
      } else {
        const target = join(this.layerDir, 'copy', String(n));
        sandboxWalkDir(join(this.layerDir, 'copy'), this.identity);
        await this.copyTree(lower, target, root);
        this.mounts.push({ root, hostPath: target });
      }
    }
    return this.mounts;
  }

  async tearDown(): Promise<void> {
    for (const target of this.mounted.splice(0)) await unmount(target);
    for (const d of ['layer', 'copy']) await removeTree(join(this.layerDir, d));
    await removeTree(join(this.sandboxDir, 'mnt'));
    this.mounts.length = 0;
    this.overlays.clear();
    this.copied.clear();
  }

  /** Host path where a codebase path currently is in this layer, if it is under a writable root. */
  currentPath(path: string): string | undefined {
    const m = this.mounts.find((x) => isUnder(path, x.root));
    if (!m) return undefined;
    return join(m.hostPath, m.root === '' ? path : path.slice(m.root.length + 1));
  }

  /** Is there a regular file at this codebase path in the layer now? */
  async hasFile(path: string): Promise<boolean> {
    const p = this.currentPath(path);
    return !!p && !!(await lstatOrUndefined(p))?.isFile();
  }

  /** What differs from the view; directories deeper than `maxDepth` path components are not walked. */
  async detectChanges(maxDepth: number, signal?: AbortSignal): Promise<DetectedChanges> {
    const changes: DetectedChanges = { writes: new Map(), deletes: new Set(), tooDeep: [], layerBytes: 0 };
    for (const [n, m] of this.mounts.entries()) {
      // Directories at depth d hold paths of d + 1 components.
      const walkDepth = maxDepth - depthOf(m.root) - 1;
      if (this.overlays.has(n)) await this.detectInOverlay(n, m, walkDepth, changes, signal);
      else await this.detectInCopy(m, walkDepth, changes, signal);
    }
    return changes;
  }

  /**
   * Only the upper dir is walked. Deletions: for each directory present in upper, the merged
   * listing is compared with the view's; this covers whiteouts, opaque directories and
   * renamed-away directories without reading overlay xattrs.
   */
  private async detectInOverlay(
    n: number,
    m: LayerMount,
    walkDepth: number,
    changes: DetectedChanges,
    signal?: AbortSignal,
  ): Promise<void> {
    const upper = join(this.layerDir, 'layer', String(n), 'upper');
    const { plan } = this.view;
    // The sandbox may still be running and swapping directories for symlinks: never follow one.
    await walkBeneath(
      upper,
      '',
      walkDepth,
      {
        directory: async (rel) => {
          const dirPath = joinRel(m.root, rel);
          for (const name of plan.children.get(dirPath) ?? []) {
            const merged = await lstatOrUndefined(join(m.hostPath, rel, name));
            const codebasePath = joinRel(dirPath, name);
            const wasDir = plan.dirs.has(codebasePath);
            if (!merged || (wasDir && !merged.isDirectory()) || (!wasDir && merged.isDirectory())) {
              this.addDeletion(codebasePath, changes);
            }
          }
        },
        entry: ({ rel, stat: st }) => {
          if (!st.isFile()) return;
          // whiteouts (0:0 char devices) were handled by the listing comparison; other types
          // (symlinks, fifos) have no place in a codebase and are not merged.
          changes.layerBytes += Number(st.size);
          changes.writes.set(joinRel(m.root, rel), {
            base: upper,
            rel,
            fingerprint: fingerprintOf(st),
            size: Number(st.size),
          });
        },
        tooDeep: (rel) => changes.tooDeep.push(joinRel(m.root, rel)),
      },
      signal,
    );
  }

  private async detectInCopy(
    m: LayerMount,
    walkDepth: number,
    changes: DetectedChanges,
    signal?: AbortSignal,
  ): Promise<void> {
    const seen = new Set<string>();
    const tooDeep: string[] = [];
    await walkBeneath(
      m.hostPath,
      '',
      walkDepth,
      {
        entry: ({ rel, stat: st }) => {
          if (!st.isFile()) return;
          const path = joinRel(m.root, rel);
          changes.layerBytes += Number(st.size);
          const fp = fingerprintOf(st);
          const before = this.copied.get(path);
          if (before !== undefined) seen.add(path);
          if (before !== fp)
            changes.writes.set(path, { base: m.hostPath, rel, fingerprint: fp, size: Number(st.size) });
        },
        tooDeep: (rel) => tooDeep.push(joinRel(m.root, rel)),
      },
      signal,
    );
    changes.tooDeep.push(...tooDeep);
    for (const path of this.copied.keys()) {
      // Below an unwalked directory nothing is known: not a deletion.
      if (isUnder(path, m.root) && !seen.has(path) && !tooDeep.some((d) => isUnder(path, d))) changes.deletes.add(path);
    }
  }

  /** A view path that disappeared: the file, or every view file below the directory. */
  private addDeletion(path: string, changes: DetectedChanges): void {
    const { plan } = this.view;
    if (plan.files.has(path)) changes.deletes.add(path);
    if (plan.dirs.has(path)) for (const f of plan.files.keys()) if (isUnder(f, path)) changes.deletes.add(f);
  }

  /** Copies a writable root out of the view, iteratively (the view is ours, not the sandbox's). */
  private async copyTree(from: string, to: string, root: string): Promise<void> {
    const stack: [string, string, string][] = [[from, to, root]];
    for (let item = stack.pop(); item; item = stack.pop()) {
      const [src, dst, path] = item;
      await mkdir(dst);
      await this.own(dst, (await lstat(src)).mode & 0o7777);
      for (const name of await readdir(src)) {
        const s = await lstat(join(src, name));
        const childPath = joinRel(path, name);
        if (s.isDirectory()) {
          stack.push([join(src, name), join(dst, name), childPath]);
          continue;
        }
        const target = join(dst, name);
        if ((s.mode & 0o777) === 0 && this.view.plan.files.get(childPath)?.level === 'view') {
          // A placeholder stays a placeholder: no content, mode 000, not the sandbox user's.
          const handle = await open(target, 'wx', 0o000);
          await handle.truncate(s.size);
          await handle.close();
        } else {
          await copyFile(join(src, name), target);
          // The manifest's mode: the view's file may be a blob, whose mode is the server's.
          await this.own(target, this.view.plan.files.get(childPath)?.entry.mode ?? s.mode & 0o7777);
        }
        this.copied.set(childPath, fingerprintOf(await lstat(target, { bigint: true })));
      }
    }
  }

  private async own(p: string, mode: number): Promise<void> {
    if (this.identity.serverIsRoot) await chown(p, this.identity.uid, this.identity.gid);
    await chmod(p, mode);
  }
}
