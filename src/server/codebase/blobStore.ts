/**
 * Content-addressed, immutable file contents shared by all codebases:
 * `blobs/<aa>/<sha256>` and `blobs/<aa>/<sha256>.x` (executable). The executable bit is part
 * of the key because sandboxes hard-link blobs, and a hard link shares the mode.
 *
 * Blobs belong to the server and nobody may change them: 0600/0700, or 0640/0750 with a
 * reader group (the sandbox's, under a root server, so that sandboxes can read the hard
 * links in their views). The directories are 0700: no other user reaches a blob by name.
 *
 * The store counts references from published manifests. A blob is garbage once no manifest
 * references it; it is removed only on codebase delete and on open, never while a writer
 * that is about to publish it holds a pin.
 */
import { chownSync, renameSync } from 'node:fs';
import { chmod, chown, lstat, mkdir, readdir, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { BlobWriter } from './blobWriter';

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

/** Manifest entries carry exactly one of two modes; anything with an execute bit becomes 0755. */
export function blobMode(mode: number): number {
  return mode & 0o111 ? 0o755 : 0o644;
}

/** The mode of a blob file on disk: the owner's bits of blobMode, and read (+x) for a reader group. */
export function blobFileMode(mode: number, readerGroup: number | undefined): number {
  const owner = blobMode(mode) & 0o700;
  return readerGroup === undefined ? owner : owner | ((owner >> 3) & 0o050);
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
    private readonly readerGroup: number | undefined,
  ) {}

  /**
   * Creates the 256 fan-out directories once, so installing a blob never needs a mkdir, and
   * makes an existing store private again: a data dir from an older server had 0755
   * directories and blobs readable by everyone (or owned by the sandbox user).
   */
  async prepare(): Promise<void> {
    await mkdir(this.root, { recursive: true, mode: 0o700 });
    await chmod(this.root, 0o700);
    const fanOut = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));
    await Promise.all(
      fanOut.map(async (name) => {
        const dir = join(this.root, name);
        await mkdir(dir, { recursive: true, mode: 0o700 });
        await chmod(dir, 0o700);
        for (const blob of await readdir(dir))
          if (BLOB_NAME.test(blob)) await this.secure(join(dir, blob), blob.endsWith('.x') ? 0o755 : 0o644);
      }),
    );
  }

  path(digest: string, mode: number): string {
    return this.pathOfName(blobName(digest, mode));
  }

  createWriter(): BlobWriter {
    return new BlobWriter(this.tmpDir, (tempPath, data, digest, size, mode) =>
      this.install(tempPath, data, digest, size, mode),
    );
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

  /** Gives a blob file the server's ownership and its mode, if it does not have them yet. */
  private async secure(path: string, mode: number): Promise<void> {
    const st = await lstat(path);
    const uid = process.getuid?.() ?? st.uid;
    const gid = this.readerGroup ?? st.gid;
    if (st.uid !== uid || st.gid !== gid) await chown(path, uid, gid);
    const want = blobFileMode(mode, this.readerGroup);
    if ((st.mode & 0o7777) !== want) await chmod(path, want);
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
  private async install(
    tempPath: string,
    data: Buffer | undefined,
    digest: string,
    size: number,
    mode: number,
  ): Promise<StoredBlob> {
    const finalMode = blobMode(mode);
    const fileMode = blobFileMode(finalMode, this.readerGroup);
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
        BlobWriter.writeNewFileSync(tempPath, data, fileMode);
        if (this.readerGroup !== undefined) chownSync(tempPath, -1, this.readerGroup);
        renameSync(tempPath, this.pathOfName(name));
      } else {
        if (data) await BlobWriter.writeNewFile(tempPath, data, fileMode);
        else await chmod(tempPath, fileMode);
        if (this.readerGroup !== undefined) await chown(tempPath, -1, this.readerGroup);
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
