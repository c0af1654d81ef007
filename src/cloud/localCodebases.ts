/**
 * A cloud backend's codebases, kept on this machine: what was uploaded (path → content hash,
 * size, mode) and the bytes as content-addressed blobs. The cloud sandbox gets its files from
 * here, under its rules (`uploadPlan`), and a run's accepted changes come back here, so the
 * review reads the same store it does for the embedded server. Everything is the user's own:
 * the folder is 0700, blobs 0600, each manifest replaced whole (write, then rename).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { chmod, copyFile, mkdir, readFile, rename, rm, stat, writeFile, constants } from 'node:fs/promises';
import { join } from 'node:path';
import { sha256Bytes, sha256File } from '../core/sync/contentHash';
import type { LocalFile } from '../core/sync/workspaceWalker';
import { normalizeCodebasePath } from '../shared/codebasePath';

export interface StoredEntry {
  checksum: string;
  size: number;
  /** Permission bits the file had (0o755 for a script). */
  mode: number;
  /** When this store last changed the entry (ms). */
  storedAt: number;
}

interface Manifest {
  name: string;
  owner: string;
  files: Record<string, StoredEntry>;
}

export class CodebaseGoneError extends Error {
  constructor(readonly codebaseId: string) {
    super(`codebase ${codebaseId} is not in the local store`);
  }
}

const ID = /^cb-[0-9a-f-]{36}$/;

export class LocalCodebases {
  private readonly manifests = new Map<string, Manifest>();
  /** One change at a time per codebase: uploads and merges never interleave their manifest writes. */
  private readonly queues = new Map<string, Promise<unknown>>();

  constructor(private readonly dir: string) {}

  private get blobs(): string {
    return join(this.dir, 'blobs');
  }

  blobPath(checksum: string): string {
    if (!/^[0-9a-f]{64}$/.test(checksum)) throw new Error(`not a sha256: ${checksum}`);
    return join(this.blobs, checksum);
  }

  private manifestPath(id: string): string {
    if (!ID.test(id)) throw new CodebaseGoneError(id);
    return join(this.dir, `${id}.json`);
  }

  async create(name: string, owner: string): Promise<{ id: string }> {
    await mkdir(this.blobs, { recursive: true, mode: 0o700 });
    const id = `cb-${randomUUID()}`;
    await this.save(id, { name, owner, files: {} });
    return { id };
  }

  async has(id: string): Promise<boolean> {
    return (await this.load(id)) !== undefined;
  }

  /** The codebase's files (a copy), or undefined when it is gone. */
  async files(id: string): Promise<Map<string, StoredEntry> | undefined> {
    const m = await this.load(id);
    return m && new Map(Object.entries(m.files));
  }

  async entry(id: string, path: string): Promise<StoredEntry | undefined> {
    return (await this.mustLoad(id)).files[normalizeCodebasePath(path)];
  }

  async read(id: string, path: string): Promise<Buffer> {
    const e = await this.entry(id, path);
    if (!e) throw Object.assign(new Error(`${path}: no such file in the codebase`), { code: 'ENOENT' });
    return readFile(this.blobPath(e.checksum));
  }

  /**
   * Stores workspace files (the cheapest copy the file system offers, then hashed from the copy,
   * so a file edited meanwhile is stored as it was copied). Results in the order of `files`.
   */
  storeFiles(
    id: string,
    files: readonly LocalFile[],
    o: { signal?: AbortSignal; onStored?: (file: LocalFile, entry: StoredEntry) => void } = {},
  ): Promise<StoredEntry[]> {
    return this.change(id, async (m) => {
      const out: StoredEntry[] = [];
      for (const f of files) {
        o.signal?.throwIfAborted();
        const entry = await this.storeFile(f);
        m.files[normalizeCodebasePath(f.path)] = entry;
        out.push(entry);
        o.onStored?.(f, entry);
      }
      return out;
    });
  }

  /** Stores bytes (a file a sandbox wrote, a discarded change put back) at `path`. */
  storeBytes(id: string, path: string, bytes: Buffer, mode = 0o644): Promise<StoredEntry> {
    return this.change(id, async (m) => {
      const checksum = sha256Bytes(bytes);
      await this.writeBlob(checksum, (tmp) => writeFile(tmp, bytes, { mode: 0o600 }));
      const entry = { checksum, size: bytes.length, mode, storedAt: Date.now() };
      m.files[normalizeCodebasePath(path)] = entry;
      return entry;
    });
  }

  remove(id: string, paths: readonly string[]): Promise<void> {
    return this.change(id, (m) => {
      for (const p of paths) delete m.files[normalizeCodebasePath(p)];
      return Promise.resolve();
    });
  }

  private async storeFile(f: LocalFile): Promise<StoredEntry> {
    await mkdir(this.blobs, { recursive: true, mode: 0o700 });
    const tmp = join(this.blobs, `.in-${randomBytes(8).toString('hex')}`);
    try {
      await copyFile(f.absPath, tmp, constants.COPYFILE_FICLONE);
      // The copy has the workspace file's mode; the store is the user's alone.
      await chmod(tmp, 0o600);
      const [checksum, st] = await Promise.all([sha256File(tmp), stat(tmp)]);
      await rename(tmp, this.blobPath(checksum));
      return { checksum, size: st.size, mode: f.mode & 0o777, storedAt: Date.now() };
    } finally {
      await rm(tmp, { force: true });
    }
  }

  private async writeBlob(checksum: string, write: (tmp: string) => Promise<void>): Promise<void> {
    await mkdir(this.blobs, { recursive: true, mode: 0o700 });
    const tmp = join(this.blobs, `.in-${randomBytes(8).toString('hex')}`);
    try {
      await write(tmp);
      await rename(tmp, this.blobPath(checksum));
    } finally {
      await rm(tmp, { force: true });
    }
  }

  private change<T>(id: string, fn: (m: Manifest) => Promise<T>): Promise<T> {
    const run = (this.queues.get(id) ?? Promise.resolve())
      .catch(() => undefined)
      .then(async () => {
        const m = await this.mustLoad(id);
        try {
          return await fn(m);
        } finally {
          // Whatever was stored before a failure or an abort is kept: its blobs are complete.
          await this.save(id, m);
        }
      });
    this.queues.set(id, run);
    return run;
  }

  private async mustLoad(id: string): Promise<Manifest> {
    const m = await this.load(id);
    if (!m) throw new CodebaseGoneError(id);
    return m;
  }

  private async load(id: string): Promise<Manifest | undefined> {
    const cached = this.manifests.get(id);
    if (cached) return cached;
    let text: string;
    try {
      text = await readFile(this.manifestPath(id), 'utf8');
    } catch (e) {
      if (e instanceof CodebaseGoneError || (e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw e;
    }
    const m = JSON.parse(text) as Manifest;
    this.manifests.set(id, m);
    return m;
  }

  private async save(id: string, m: Manifest): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const path = this.manifestPath(id);
    const tmp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
    await writeFile(tmp, JSON.stringify(m), { mode: 0o600 });
    await rename(tmp, path);
    this.manifests.set(id, m);
  }
}
