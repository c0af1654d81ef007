/**
 * Content-addressed, immutable file contents shared by all codebases:
 * `blobs/<aa>/<sha256>` (mode 0644) and `blobs/<aa>/<sha256>.x` (mode 0755). The executable
 * bit is part of the key because sandboxes hard-link blobs, and a hard link shares the mode.
 *
 * The store counts references from published manifests. A blob is garbage once no manifest
 * references it; it is removed only on codebase delete and on open, never while a writer
 * that is about to publish it holds a pin.
 */
import { chownSync, renameSync } from 'node:fs';
import { chmod, chown, mkdir, readdir, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { BlobWriter } from './blobWriter';

export interface BlobOwner {
  uid: number;
  gid: number;
}

/** A blob that is in the store and pinned against garbage collection until released. */
export interface StoredBlob {
  digest: string;
  size: number;
  mode: number;
  release(): void;
}

/** Blobs up to this size are written with synchronous calls (see install). */
const SYNC_WRITE_LIMIT = 64 * 1024;
const BLOB_NAME = /^[0-9a-f]{64}(\.x)?$/;

/** Blobs carry exactly one of two modes; anything with an execute bit becomes 0755. */
export function blobMode(mode: number): number {
  return mode & 0o111 ? 0o755 : 0o644;
}

export function blobName(digest: string, mode: number): string {
  return blobMode(mode) === 0o755 ? `${digest}.x` : digest;
}

export class BlobStore {
  private readonly refs = new Map<string, number>();
  private readonly pins = new Map<string, number>();
  /** Unlinks in progress; a writer installing the same name waits for them. */
  private readonly collecting = new Map<string, Promise<void>>();

  constructor(
    private readonly root: string,
    private readonly tmpDir: string,
    private readonly owner: BlobOwner | undefined,
  ) {}

  /** Creates the 256 fan-out directories once, so installing a blob never needs a mkdir. */
  async prepare(): Promise<void> {
    await mkdir(this.root, { recursive: true, mode: 0o755 });
    const fanOut = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));
    await Promise.all(fanOut.map((dir) => mkdir(join(this.root, dir), { recursive: true, mode: 0o755 })));
  }

  path(digest: string, mode: number): string {
    return this.pathOfName(blobName(digest, mode));
  }

  createWriter(): BlobWriter {
    return new BlobWriter(this.tmpDir, (tempPath, data, digest, size, mode) => this.install(tempPath, data, digest, size, mode));
  }

  addReference(digest: string, mode: number): void {
    const name = blobName(digest, mode);
    this.refs.set(name, (this.refs.get(name) ?? 0) + 1);
  }

  /** Returns the blob's name if this was its last reference. */
  dropReference(digest: string, mode: number): string | undefined {
    const name = blobName(digest, mode);
    const count = (this.refs.get(name) ?? 0) - 1;
    if (count > 0) {
      this.refs.set(name, count);
      return undefined;
    }
    this.refs.delete(name);
    return name;
  }

  /** Removes the named blobs that are still unreferenced and unpinned. */
  async collect(names: Iterable<string>): Promise<void> {
    const unlinks: Promise<void>[] = [];
    for (const name of names) {
      if (this.refs.has(name) || this.pins.has(name) || this.collecting.has(name)) continue;
      const done = unlink(this.pathOfName(name))
        .catch((err: NodeJS.ErrnoException) => {
          if (err.code !== 'ENOENT') throw err;
        })
        .finally(() => this.collecting.delete(name));
      this.collecting.set(name, done);
      unlinks.push(done);
    }
    await Promise.all(unlinks);
  }

  /** Removes every blob on disk that no manifest references (run on open, after loading manifests). */
  async sweep(): Promise<void> {
    for (const dir of await readdir(this.root)) {
      let names: string[];
      try {
        names = await readdir(join(this.root, dir));
      } catch {
        continue;
      }
      await this.collect(names.filter((n) => BLOB_NAME.test(n)));
    }
  }

  private pathOfName(name: string): string {
    return join(this.root, name.slice(0, 2), name);
  }

  private pin(name: string): () => void {
    this.pins.set(name, (this.pins.get(name) ?? 0) + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const count = (this.pins.get(name) ?? 1) - 1;
      if (count > 0) this.pins.set(name, count);
      else this.pins.delete(name);
    };
  }

  /**
   * Moves finished content into the store under its name. Content is either a temp file
   * (large uploads) or an in-memory buffer (small ones, written to a temp file here); either
   * way the blob appears by rename, so it is never visible half-written.
   */
  private async install(tempPath: string, data: Buffer | undefined, digest: string, size: number, mode: number): Promise<StoredBlob> {
    const finalMode = blobMode(mode);
    const name = blobName(digest, finalMode);
    const release = this.pin(name);
    try {
      await this.collecting.get(name);
      if (this.refs.has(name)) {
        // Already stored and referenced (so it exists): identical content is kept once.
        if (!data) await unlink(tempPath);
      } else if (data && data.length <= SYNC_WRITE_LIMIT) {
        // Small files are most of a typical upload. Done synchronously they cost a few tens of
        // microseconds of event-loop time; through the thread pool several times that in total.
        BlobWriter.writeNewFileSync(tempPath, data, finalMode);
        if (this.owner) chownSync(tempPath, this.owner.uid, this.owner.gid);
        renameSync(tempPath, this.pathOfName(name));
      } else {
        if (data) await BlobWriter.writeNewFile(tempPath, data, finalMode);
        else await chmod(tempPath, finalMode);
        if (this.owner) await chown(tempPath, this.owner.uid, this.owner.gid);
        await rename(tempPath, this.pathOfName(name));
      }
    } catch (err) {
      release();
      await unlink(tempPath).catch(() => undefined);
      throw err;
    }
    return { digest, size, mode: finalMode, release };
  }
}
