/**
 * The codebase store: codebases (metadata + manifest) over a shared content-addressed blob
 * store, all under `<dataDir>/codebases/`:
 *
 *   blobs/<aa>/<sha256>[.x]   immutable contents (.x = executable), shared by all codebases
 *   tmp/                      uploads in progress; emptied on open
 *   cb_<16 hex>/meta.json     id, name, owner, timestamps
 *   cb_<16 hex>/manifest.json + journal.log   the manifest (see manifestJournal.ts)
 */
import { chmod, open, mkdir, readdir, rename, rm } from 'node:fs/promises';
import { constants as fsConstants, type ReadStream } from 'node:fs';
import { join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { InvalidPathError, normalizeCodebasePath } from '../../shared/codebasePath';
import { failedPrecondition, invalidArgument, notFound } from '../rpc/rpcError';
import { BlobStore, blobMode, type StoredBlob } from './blobStore';
import { isCodebaseId, newCodebaseId } from './codebaseId';
import type { CodebaseAccess, CodebaseChange, CodebaseSnapshot, ManifestEntry } from './contract';
import { listDirectory, type FileListing } from './fileListing';
import { FileUpload } from './fileUpload';
import type { ManifestOp } from './manifest';
import { compareCursors, decodePageToken, encodePageToken, isAfterCursor, resolvePageSize } from '../rpc/paging';
import { StoredCodebase, type PublishHooks } from './storedCodebase';
import { createLogger, type Logger } from '../logger';

export interface CodebaseInfo {
  id: string;
  name: string;
  ownerId: string;
  /** Sum of file sizes in bytes. */
  size: number;
  fileCount: number;
  createdAt: Date;
  updatedAt: Date;
}

export interface CodebasePage {
  codebases: CodebaseInfo[];
  /** Empty on the last page. */
  nextPageToken: string;
}

export interface StoreOptions {
  /**
   * A group that may read (not write) blob files, and nothing else: the sandbox's, under a
   * root server, so that sandboxes read the hard links in their views. Without it, 0600.
   */
  blobReaderGroup?: number;
  /** Where the store tells what it skipped or could not do (default: warnings on stderr). */
  log?: Logger;
}

/** Returns the id of a sandbox that is using the codebase, or undefined. */
export type InUseCheck = (codebaseId: string) => string | undefined;

/** How many sandbox files applyChanges copies at once. */
const INGEST_CONCURRENCY = 8;
const DOWNLOAD_CHUNK_BYTES = 64 * 1024;

export class CodebaseStore implements CodebaseAccess {
  private readonly codebases = new Map<string, StoredCodebase>();
  private readonly listeners = new Set<(codebaseId: string) => void>();
  private inUse: InUseCheck = () => undefined;

  private constructor(
    private readonly root: string,
    private readonly tmpDir: string,
    private readonly blobs: BlobStore,
    private readonly log: Logger,
  ) {}

  /** Opens (creating if needed) the store, recovering from a previous crash. */
  static async open(dataDir: string, opts: StoreOptions = {}): Promise<CodebaseStore> {
    const root = join(resolve(dataDir), 'codebases');
    // No other user may reach a codebase: 0700, repaired if an older server left it open.
    await mkdir(root, { recursive: true, mode: 0o700 });
    await chmod(root, 0o700);
    const tmpDir = join(root, 'tmp');
    // Leftovers of interrupted uploads and deletes; none of it was ever published.
    await rm(tmpDir, { recursive: true, force: true });
    await mkdir(tmpDir, { mode: 0o700 });
    const blobs = new BlobStore(join(root, 'blobs'), tmpDir, opts.blobReaderGroup);
    await blobs.prepare();

    const store = new CodebaseStore(root, tmpDir, blobs, opts.log ?? createLogger('warn'));
    let unreadable = 0;
    for (const name of await readdir(root)) {
      if (!isCodebaseId(name)) continue;
      const dir = join(root, name);
      let codebase: StoredCodebase | undefined;
      try {
        codebase = await StoredCodebase.load(dir, store.hooksFor(name));
      } catch (err) {
        // Only outside interference corrupts these files; keep serving the other codebases
        // and leave this one on disk for a person to look at.
        store.log.error('codebase could not be loaded and is skipped (left on disk)', {
          codebase: name,
          error: (err as Error).message,
        });
        unreadable++;
        continue;
      }
      if (!codebase) {
        await rm(dir, { recursive: true, force: true }); // a create that never finished
        continue;
      }
      store.codebases.set(name, codebase);
      for (const entry of codebase.manifest.entries()) blobs.addReference(entry.digest, entry.mode);
    }
    // No sandbox can be using blobs yet, so everything unreferenced can go, unless a
    // codebase we could not read may still reference some.
    if (unreadable === 0) await blobs.sweep();
    return store;
  }

  /** Installs the sandbox runtime's check; delete is refused while it names a sandbox. */
  setInUseCheck(check: InUseCheck): void {
    this.inUse = check;
  }

  // ---- CodebaseAccess ----

  snapshot(codebaseId: string): CodebaseSnapshot {
    return this.require(codebaseId).manifest.snapshot();
  }

  /**
   * Host path of a blob. Pass the entry's mode: executable and plain copies of the same
   * content are different blobs (a hard link shares the mode). Without it, the plain one.
   */
  blobPath(digest: string, mode = 0o644): string {
    return this.blobs.path(digest, mode);
  }

  blobPathFor(entry: ManifestEntry): string {
    return this.blobs.path(entry.digest, entry.mode);
  }

  async applyChanges(codebaseId: string, changes: readonly CodebaseChange[]): Promise<CodebaseSnapshot> {
    const codebase = this.require(codebaseId);
    const validated = changes.map((c) => ({ ...c, path: validFilePath(c.path) }));
    const held: StoredBlob[] = [];
    try {
      const ops = await mapConcurrently(validated, INGEST_CONCURRENCY, async (change): Promise<ManifestOp> => {
        if (change.kind === 'delete') return { remove: change.path };
        const { blob, mtimeMs } = await this.ingestFile(change.source, change.mode);
        held.push(blob);
        return {
          put: Object.freeze({ path: change.path, size: blob.size, mode: blob.mode, digest: blob.digest, mtimeMs }),
        };
      });
      return (await codebase.publish(ops, true))!;
    } finally {
      for (const blob of held) blob.release();
    }
  }

  onDidChange(listener: (codebaseId: string) => void): void {
    this.listeners.add(listener);
  }

  // ---- codebases ----

  async createCodebase(name: string, ownerId: string): Promise<CodebaseInfo> {
    let id = newCodebaseId();
    while (this.codebases.has(id)) id = newCodebaseId();
    const meta = { id, name, ownerId, createdAtMs: Date.now() };
    const codebase = await StoredCodebase.create(join(this.root, id), meta, this.hooksFor(id));
    this.codebases.set(id, codebase);
    return describe(codebase);
  }

  getCodebase(codebaseId: string): CodebaseInfo {
    return describe(this.require(codebaseId));
  }

  /** Codebases in creation order, optionally only one owner's. */
  listCodebases(query: { ownerId?: string; pageSize?: number; pageToken?: string }): CodebasePage {
    const pageSize = resolvePageSize(query.pageSize ?? 0);
    const cursor = decodePageToken(query.pageToken ?? '');
    const matching = [...this.codebases.values()]
      .filter((c) => !query.ownerId || c.meta.ownerId === query.ownerId)
      .map((c) => ({ codebase: c, key: { createdAtMs: c.meta.createdAtMs, id: c.meta.id } }))
      .filter(({ key }) => !cursor || isAfterCursor(key, cursor))
      .sort((a, b) => compareCursors(a.key, b.key));
    const page = matching.slice(0, pageSize);
    const more = matching.length > pageSize;
    return {
      codebases: page.map(({ codebase }) => describe(codebase)),
      nextPageToken: more ? encodePageToken(page[page.length - 1].key) : '',
    };
  }

  /** Deletes a codebase and the blobs only it referenced; refused while a sandbox uses it. */
  async deleteCodebase(codebaseId: string): Promise<void> {
    const codebase = this.require(codebaseId);
    const sandboxId = this.inUse(codebaseId);
    if (sandboxId) {
      throw failedPrecondition(`codebase ${codebaseId} is in use by sandbox ${sandboxId}; destroy the sandbox first`);
    }
    this.codebases.delete(codebaseId);
    await codebase.markDeleted();
    // Renamed first so a crash mid-removal leaves nothing that looks like a codebase.
    const trash = join(this.tmpDir, `deleted-${codebaseId}-${randomBytes(4).toString('hex')}`);
    await rename(codebase.dir, trash);
    await rm(trash, { recursive: true, force: true });
    const orphans: string[] = [];
    for (const entry of codebase.manifest.entries()) {
      const orphan = this.blobs.dropReference(entry.digest, entry.mode);
      if (orphan) orphans.push(orphan);
    }
    // Sandboxes that hard-linked these blobs keep their inodes; only the names go.
    await this.blobs.collect(orphans);
    this.emit(codebaseId);
  }

  // ---- files ----

  /** Starts an upload; nothing changes in the codebase until the upload is committed. */
  beginUpload(codebaseId: string, path: string, totalSize: number): FileUpload {
    const codebase = this.require(codebaseId);
    const filePath = validFilePath(path);
    if (!Number.isSafeInteger(totalSize) || totalSize < 0)
      throw invalidArgument(`total_size must be 0 or more, got ${totalSize}`);
    const conflict = codebase.manifest.fileConflict(filePath);
    if (conflict) throw invalidArgument(`invalid path ${JSON.stringify(filePath)}: ${conflict}`);
    return new FileUpload(codebase, filePath, totalSize, this.blobs.createWriter());
  }

  listFiles(codebaseId: string, dir: string, recursive: boolean): FileListing[] {
    const { manifest } = this.require(codebaseId);
    const dirPath = validPath(dir, true);
    if (!manifest.isDirectory(dirPath)) {
      if (manifest.get(dirPath)) throw invalidArgument(`"${dirPath}" is a file, not a directory`);
      throw notFound(`directory "${dirPath}" not found in codebase ${codebaseId}`);
    }
    return listDirectory(manifest, dirPath, recursive);
  }

  /** The file's content as a stream of 64 KiB chunks. */
  async openRead(codebaseId: string, path: string): Promise<ReadStream> {
    const { manifest } = this.require(codebaseId);
    const filePath = validFilePath(path);
    const entry = manifest.get(filePath);
    if (!entry) throw notFound(`file "${filePath}" not found in codebase ${codebaseId}`);
    const handle = await open(this.blobPathFor(entry), 'r').catch((err: NodeJS.ErrnoException) => {
      // Only if the codebase was deleted between lookup and open.
      throw err.code === 'ENOENT' ? notFound(`file "${filePath}" not found in codebase ${codebaseId}`) : err;
    });
    return handle.createReadStream({ highWaterMark: DOWNLOAD_CHUNK_BYTES });
  }

  /** Waits for pending changes and releases file handles. */
  async close(): Promise<void> {
    await Promise.all([...this.codebases.values()].map((c) => c.close()));
  }

  // ---- internals ----

  private require(codebaseId: string): StoredCodebase {
    const codebase = this.codebases.get(codebaseId);
    if (!codebase) throw notFound(`codebase ${codebaseId} not found`);
    return codebase;
  }

  private hooksFor(codebaseId: string): PublishHooks {
    return {
      log: this.log,
      onApplied: (added, removed) => {
        for (const e of added) this.blobs.addReference(e.digest, e.mode);
        // Replaced blobs may still be hard-linked from an older snapshot: collected on open only.
        for (const e of removed) this.blobs.dropReference(e.digest, e.mode);
        this.emit(codebaseId);
      },
    };
  }

  private emit(codebaseId: string): void {
    for (const listener of this.listeners) {
      try {
        listener(codebaseId);
      } catch (err) {
        this.log.error('codebase change listener failed', { codebase: codebaseId, error: (err as Error).message });
      }
    }
  }

  /**
   * Copies a sandbox file into the blob store. The file may be changing under us, so it is
   * copied (never linked) and the blob's digest is of the bytes actually read.
   */
  private async ingestFile(source: string, mode: number): Promise<{ blob: StoredBlob; mtimeMs: number }> {
    // O_NOFOLLOW: a symlink planted by the sandbox must not make us read a host file;
    // O_NONBLOCK: opening a FIFO must not hang us.
    const handle = await open(source, fsConstants.O_RDONLY | fsConstants.O_NOFOLLOW | fsConstants.O_NONBLOCK).catch(
      (err: NodeJS.ErrnoException) => {
        throw err.code === 'ELOOP' ? invalidArgument(`source ${source} is a symbolic link, not a regular file`) : err;
      },
    );
    const writer = this.blobs.createWriter();
    try {
      const stat = await handle.stat();
      if (!stat.isFile()) throw invalidArgument(`source ${source} is not a regular file`);
      const buffer = Buffer.allocUnsafe(DOWNLOAD_CHUNK_BYTES);
      for (;;) {
        const { bytesRead } = await handle.read(buffer, 0, buffer.length, null);
        if (bytesRead === 0) break;
        await writer.write(Buffer.from(buffer.subarray(0, bytesRead)));
      }
      return { blob: await writer.finish(blobMode(mode)), mtimeMs: stat.mtimeMs };
    } catch (err) {
      await writer.abort();
      throw err;
    } finally {
      await handle.close();
    }
  }
}

function describe(codebase: StoredCodebase): CodebaseInfo {
  return {
    id: codebase.meta.id,
    name: codebase.meta.name,
    ownerId: codebase.meta.ownerId,
    size: codebase.manifest.totalSize,
    fileCount: codebase.manifest.fileCount,
    createdAt: new Date(codebase.meta.createdAtMs),
    updatedAt: new Date(codebase.updatedAtMs),
  };
}

function validPath(path: string, allowRoot: boolean): string {
  try {
    return normalizeCodebasePath(path, { allowRoot });
  } catch (err) {
    if (err instanceof InvalidPathError) throw invalidArgument(err.message);
    throw err;
  }
}

function validFilePath(path: string): string {
  return validPath(path, false);
}

/** Like Promise.all over `items.map(fn)`, but at most `limit` at a time; waits for all to settle. */
async function mapConcurrently<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  let failure: { err: unknown } | undefined;
  const worker = async () => {
    while (next < items.length && !failure) {
      const i = next++;
      try {
        results[i] = await fn(items[i]);
      } catch (err) {
        failure ??= { err };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failure) throw failure.err;
  return results;
}
