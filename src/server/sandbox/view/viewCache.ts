/**
 * View trees on disk, one per (codebase version, rule set), shared by every sandbox with
 * that key. A view holds only what the rules let a sandbox reach:
 *   none  → absent;
 *   view  → an empty sparse file of the real size, mode 000, owned by the server (root), so
 *           the sandbox user can neither read nor chmod it — the content is simply not there;
 *   read/write → a hard link to the content-addressed blob (never written: writes go to layers),
 *           which belongs to the server and is only readable by the sandbox; except, when
 *           layers are overlays, `write` files: an overlay lets a process write a lower file
 *           only if it may write the lower inode, so they are copies owned by the sandbox user.
 * Built in a temp dir and renamed into place, so a half-built view is never used.
 */
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import { join } from 'node:path';
import type { CodebaseAccess, CodebaseSnapshot } from '../../codebase/contract';
import type { NormalizedRule } from '../../../shared/permissions';
import { sortRules } from '../../../shared/permissions';
import { planView, type ViewPlan } from './viewPlan';
import type { SandboxIdentity } from '../sandboxIdentity';
import { sandboxWalkDir } from '../../dataDirAccess';

export interface ViewLease {
  key: string;
  dir: string;
  plan: ViewPlan;
  snapshot: CodebaseSnapshot;
  release(): void;
}

interface CachedView {
  dir: string;
  plan: ViewPlan;
  snapshot: CodebaseSnapshot;
  refs: number;
  lastUsed: number;
}

/** Unused views are kept this long for the next sandbox with the same rules. */
const STALE_AFTER_MS = 10 * 60_000;

export class ViewCache {
  private readonly views = new Map<string, CachedView>();
  private readonly root: string;

  constructor(
    dataDir: string,
    private readonly store: CodebaseAccess,
    private readonly identity: SandboxIdentity,
    /** Layers are overlays: `write` files get sandbox-owned copies (see above). */
    private readonly copyWritable: boolean,
  ) {
    this.root = join(dataDir, 'views');
    // Views are cheap to rebuild; whatever a previous run left is not trusted.
    fs.rmSync(this.root, { recursive: true, force: true });
    sandboxWalkDir(this.root, identity);
  }

  acquire(snapshot: CodebaseSnapshot, rules: readonly NormalizedRule[]): ViewLease {
    const key = viewKey(snapshot.version, rules);
    let view = this.views.get(key);
    if (!view) {
      const plan = planView(snapshot, rules);
      const dir = join(this.root, key);
      this.build(plan, dir);
      view = { dir, plan, snapshot, refs: 0, lastUsed: Date.now() };
      this.views.set(key, view);
    }
    view.refs++;
    const v = view;
    let released = false;
    this.collectGarbage();
    return {
      key,
      dir: v.dir,
      plan: v.plan,
      snapshot: v.snapshot,
      release: () => {
        if (released) return;
        released = true;
        v.refs--;
        v.lastUsed = Date.now();
      },
    };
  }

  /** Removes views nobody uses that have not been used for a while. */
  collectGarbage(now = Date.now()): void {
    for (const [key, v] of this.views) {
      if (v.refs === 0 && now - v.lastUsed > STALE_AFTER_MS) {
        this.views.delete(key);
        fs.rmSync(v.dir, { recursive: true, force: true });
      }
    }
  }

  private build(plan: ViewPlan, finalDir: string): void {
    const tmp = join(this.root, `.tmp-${randomBytes(6).toString('hex')}`);
    const { uid, gid, serverIsRoot } = this.identity;
    try {
      fs.mkdirSync(tmp, { mode: 0o755 });
      // Directories belong to the sandbox user so that, inside a writable layer, it can
      // create files in them; on the read-only view that ownership grants nothing.
      const ownDir = (d: string) => {
        fs.chmodSync(d, 0o755);
        if (serverIsRoot) fs.chownSync(d, uid, gid);
      };
      ownDir(tmp);
      for (const d of [...plan.dirs].sort()) {
        const p = join(tmp, d);
        fs.mkdirSync(p);
        ownDir(p);
      }
      for (const f of plan.files.values()) {
        const target = join(tmp, f.path);
        if (f.level === 'view') {
          const fd = fs.openSync(target, 'wx', 0o000);
          fs.ftruncateSync(fd, f.entry.size);
          fs.fchmodSync(fd, 0o000);
          fs.closeSync(fd);
          continue;
        }
        if (this.copyWritable && f.level === 'write') this.placeCopy(target, f.entry.digest, f.entry.mode);
        else this.placeContent(target, f.entry.digest, f.entry.mode);
      }
      try {
        fs.renameSync(tmp, finalDir);
      } catch (err) {
        // Built concurrently by another caller with the same key: theirs is as good.
        if ((err as NodeJS.ErrnoException).code !== 'ENOTEMPTY' && (err as NodeJS.ErrnoException).code !== 'EEXIST')
          throw err;
        fs.rmSync(tmp, { recursive: true, force: true });
      }
    } catch (err) {
      fs.rmSync(tmp, { recursive: true, force: true });
      throw err;
    }
  }

  /**
   * Hard link to the blob. The store keeps one blob per (content, executable), so the link
   * has the right execute bit; its owner and mode keep it read-only to the sandbox.
   */
  private placeContent(target: string, digest: string, mode: number): void {
    const blob = this.store.blobPath(digest, mode & 0o7777);
    try {
      fs.linkSync(blob, target);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EXDEV' && (err as NodeJS.ErrnoException).code !== 'EMLINK')
        throw err;
      this.placeCopy(target, digest, mode);
    }
  }

  /** A private copy with the file's mode, owned by the sandbox user. */
  private placeCopy(target: string, digest: string, mode: number): void {
    fs.copyFileSync(this.store.blobPath(digest, mode & 0o7777), target, fs.constants.COPYFILE_EXCL);
    fs.chmodSync(target, mode & 0o777);
    if (this.identity.serverIsRoot) fs.chownSync(target, this.identity.uid, this.identity.gid);
  }
}

export function viewKey(version: string, rules: readonly NormalizedRule[]): string {
  const canonical = sortRules(rules).map((r) => [r.priority, r.type, r.permission, r.pattern]);
  return createHash('sha256').update(version).update('\0').update(JSON.stringify(canonical)).digest('hex');
}
