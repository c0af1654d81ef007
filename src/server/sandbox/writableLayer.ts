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
import { join } from 'node:path';
import type { SandboxIdentity } from './sandboxIdentity';
import type { ViewLease } from './viewCache';
import { isUnder } from './viewPlan';
import { mountOverlay, unmount } from './hostMounts';
import { privateDir, sandboxWalkDir } from '../dataDirAccess';
import { readDirBeneath } from './pathBeneath';

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
}

export interface DetectedChanges {
  writes: Map<string, ChangedFile>;
  deletes: Set<string>;
}

const fingerprintOf = (st: fs.BigIntStats) => `${st.ino}:${st.size}:${st.mtimeNs}`;
const joinRel = (a: string, b: string) => (a === '' ? b : b === '' ? a : `${a}/${b}`);

function lstatOrUndefined(p: string): fs.BigIntStats | undefined {
  try {
    return fs.lstatSync(p, { bigint: true });
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

  constructor(
    private readonly sandboxDir: string,
    readonly mode: CowMode,
    private readonly identity: SandboxIdentity,
    readonly view: ViewLease,
  ) {}

  async setUp(): Promise<LayerMount[]> {
    const { plan } = this.view;
    for (const [n, root] of plan.writableRoots.entries()) {
      const lower = join(this.view.dir, root);
      if (this.mode === 'overlay' && fs.readdirSync(lower).length > 0) {
        // layer/ is the server's alone; bwrap only walks mnt/ to the mount point.
        const layerDir = join(this.sandboxDir, 'layer', String(n));
        const upper = join(layerDir, 'upper');
        const work = join(layerDir, 'work');
        const target = join(this.sandboxDir, 'mnt', String(n));
        privateDir(join(this.sandboxDir, 'layer'));
        for (const d of [upper, work]) fs.mkdirSync(d, { recursive: true, mode: 0o700 });
        sandboxWalkDir(join(this.sandboxDir, 'mnt'), this.identity);
        fs.mkdirSync(target, { mode: 0o700 });
        // The overlay's root takes the upper dir's owner and mode.
        this.own(upper, fs.statSync(lower).mode & 0o7777);
        await mountOverlay(lower, layerDir, upper, work, target);
        this.mounted.push(target);
        this.overlays.add(this.mounts.length);
        this.mounts.push({ root, hostPath: target });
      } else {
        const target = join(this.sandboxDir, 'copy', String(n));
        sandboxWalkDir(join(this.sandboxDir, 'copy'), this.identity);
        this.copyTree(lower, target, root);
        this.mounts.push({ root, hostPath: target });
      }
    }
    return this.mounts;
  }

  async tearDown(): Promise<void> {
    for (const target of this.mounted.splice(0)) await unmount(target);
    for (const d of ['layer', 'mnt', 'copy']) fs.rmSync(join(this.sandboxDir, d), { recursive: true, force: true });
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
  hasFile(path: string): boolean {
    const p = this.currentPath(path);
    return !!p && !!lstatOrUndefined(p)?.isFile();
  }

  detectChanges(): DetectedChanges {
    const changes: DetectedChanges = { writes: new Map(), deletes: new Set() };
    for (const [n, m] of this.mounts.entries()) {
      if (this.overlays.has(n)) this.detectInOverlay(n, m, changes);
      else this.detectInCopy(m, changes);
    }
    return changes;
  }

  /**
   * Only the upper dir is walked. Deletions: for each directory present in upper, the merged
   * listing is compared with the view's; this covers whiteouts, opaque directories and
   * renamed-away directories without reading overlay xattrs.
   */
  private detectInOverlay(n: number, m: LayerMount, changes: DetectedChanges): void {
    const upper = join(this.sandboxDir, 'layer', String(n), 'upper');
    const { plan } = this.view;
    const walk = (rel: string) => {
      const dirPath = joinRel(m.root, rel);
      for (const name of plan.children.get(dirPath) ?? []) {
        const merged = lstatOrUndefined(join(m.hostPath, rel, name));
        const codebasePath = joinRel(dirPath, name);
        const wasDir = plan.dirs.has(codebasePath);
        if (!merged || (wasDir && !merged.isDirectory()) || (!wasDir && merged.isDirectory())) {
          this.addDeletion(codebasePath, changes);
        }
      }
      // The sandbox may still be running and swapping directories for symlinks: never follow one.
      for (const { name, stat: st } of readDirBeneath(upper, rel)) {
        const r = joinRel(rel, name);
        if (st.isDirectory()) walk(r);
        else if (st.isFile()) changes.writes.set(joinRel(m.root, r), { base: upper, rel: r, fingerprint: fingerprintOf(st) });
        // whiteouts (0:0 char devices) were handled by the listing comparison; other types
        // (symlinks, fifos) have no place in a codebase and are not merged.
      }
    };
    walk('');
  }

  private detectInCopy(m: LayerMount, changes: DetectedChanges): void {
    const seen = new Set<string>();
    const walk = (rel: string) => {
      for (const { name, stat: st } of readDirBeneath(m.hostPath, rel)) {
        const r = joinRel(rel, name);
        if (st.isDirectory()) walk(r);
        else if (st.isFile()) {
          const path = joinRel(m.root, r);
          seen.add(path);
          const fp = fingerprintOf(st);
          if (this.copied.get(path) !== fp) changes.writes.set(path, { base: m.hostPath, rel: r, fingerprint: fp });
        }
      }
    };
    walk('');
    for (const path of this.copied.keys()) if (isUnder(path, m.root) && !seen.has(path)) changes.deletes.add(path);
  }

  /** A view path that disappeared: the file, or every view file below the directory. */
  private addDeletion(path: string, changes: DetectedChanges): void {
    const { plan } = this.view;
    if (plan.files.has(path)) changes.deletes.add(path);
    if (plan.dirs.has(path)) for (const f of plan.files.keys()) if (isUnder(f, path)) changes.deletes.add(f);
  }

  private copyTree(from: string, to: string, root: string): void {
    const st = fs.lstatSync(from);
    fs.mkdirSync(to);
    this.own(to, st.mode & 0o7777);
    for (const name of fs.readdirSync(from)) {
      const src = join(from, name);
      const dst = join(to, name);
      const s = fs.lstatSync(src);
      if (s.isDirectory()) {
        this.copyTree(src, dst, joinRel(root, name));
        continue;
      }
      if ((s.mode & 0o777) === 0 && this.view.plan.files.get(joinRel(root, name))?.level === 'view') {
        // A placeholder stays a placeholder: no content, mode 000, not the sandbox user's.
        const fd = fs.openSync(dst, 'wx', 0o000);
        fs.ftruncateSync(fd, s.size);
        fs.closeSync(fd);
      } else {
        fs.copyFileSync(src, dst);
        // The manifest's mode: the view's file may be a blob, whose mode only the server's.
        this.own(dst, this.view.plan.files.get(joinRel(root, name))?.entry.mode ?? s.mode & 0o7777);
      }
      this.copied.set(joinRel(root, name), fingerprintOf(fs.lstatSync(dst, { bigint: true })));
    }
  }

  private own(p: string, mode: number): void {
    if (this.identity.serverIsRoot) fs.chownSync(p, this.identity.uid, this.identity.gid);
    fs.chmodSync(p, mode);
  }
}
