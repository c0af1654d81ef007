/**
 * Receives one file's content, hashing as it goes. Small content stays in memory (most
 * source files arrive in a single chunk); past MEMORY_LIMIT it spills to a temp file. Either
 * way `finish` hands it to the blob store, which makes it appear atomically.
 */
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, fchmodSync, openSync, writeSync } from 'node:fs';
import { open, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { StoredBlob } from './blobStore';

const MEMORY_LIMIT = 1024 * 1024;

export type InstallBlob = (
  tempPath: string,
  data: Buffer | undefined,
  digest: string,
  size: number,
  mode: number,
) => Promise<StoredBlob>;

export class BlobWriter {
  private readonly hash = createHash('sha256');
  private chunks: Buffer[] = [];
  private file: FileHandle | undefined;
  private readonly tempPath: string;
  private received = 0;
  private state: 'open' | 'finished' | 'aborted' = 'open';

  constructor(
    tmpDir: string,
    private readonly installBlob: InstallBlob,
  ) {
    this.tempPath = join(tmpDir, `${randomBytes(8).toString('hex')}.part`);
  }

  get bytesReceived(): number {
    return this.received;
  }

  /** Creates `path` (which must not exist) with exactly `data` and `mode`. */
  static async writeNewFile(path: string, data: Buffer, mode: number): Promise<void> {
    const file = await open(path, 'wx', mode);
    try {
      await writeAll(file, data);
      await file.chmod(mode); // the umask may have narrowed the mode given to open
    } finally {
      await file.close();
    }
  }

  static writeNewFileSync(path: string, data: Buffer, mode: number): void {
    const fd = openSync(path, 'wx', mode);
    try {
      let offset = 0;
      while (offset < data.length) offset += writeSync(fd, data, offset, data.length - offset);
      fchmodSync(fd, mode);
    } finally {
      closeSync(fd);
    }
  }

  /** Returns a promise only when the chunk had to go to disk; await it before the next write. */
  write(chunk: Buffer): Promise<void> | void {
    if (this.state !== 'open') throw new Error(`blob writer is ${this.state}`);
    this.hash.update(chunk);
    this.received += chunk.length;
    if (!this.file && this.received <= MEMORY_LIMIT) {
      this.chunks.push(chunk);
      return;
    }
    return this.writeToDisk(chunk);
  }

  private async writeToDisk(chunk: Buffer): Promise<void> {
    if (!this.file) {
      this.file = await open(this.tempPath, 'wx', 0o600);
      const buffered = this.chunks;
      this.chunks = [];
      for (const b of buffered) await writeAll(this.file, b);
    }
    await writeAll(this.file, chunk);
  }

  /** Stores the content as a blob with the given mode; the result stays pinned until released. */
  async finish(mode: number): Promise<StoredBlob> {
    if (this.state !== 'open') throw new Error(`blob writer is ${this.state}`);
    this.state = 'finished';
    const digest = this.hash.digest('hex');
    let data: Buffer | undefined;
    if (this.file) {
      const file = this.file;
      this.file = undefined;
      await file.close();
    } else {
      data = Buffer.concat(this.chunks);
      this.chunks = [];
    }
    return this.installBlob(this.tempPath, data, digest, this.received, mode);
  }

  /** Drops everything received; safe to call more than once and after a failed finish. */
  async abort(): Promise<void> {
    if (this.state === 'aborted') return;
    const wasOpen = this.state === 'open';
    this.state = 'aborted';
    this.chunks = [];
    const file = this.file;
    this.file = undefined;
    await file?.close().catch(() => undefined);
    if (wasOpen && file) await unlink(this.tempPath).catch(() => undefined);
  }
}

async function writeAll(file: FileHandle, data: Buffer): Promise<void> {
  let offset = 0;
  while (offset < data.length) {
    const { bytesWritten } = await file.write(data, offset, data.length - offset);
    offset += bytesWritten;
  }
}
