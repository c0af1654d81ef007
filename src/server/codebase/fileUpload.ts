/**
 * One file being uploaded: bytes go to a blob writer; nothing is visible in the codebase
 * until `commit` has checked the size, stored the blob and published the manifest entry.
 */
import { invalidArgument } from '../rpc/rpcError';
import type { BlobWriter } from './blobWriter';
import type { StoredCodebase } from './storedCodebase';

export interface UploadedFile {
  path: string;
  size: number;
  /** Hex sha256 of the content. */
  digest: string;
}

export class FileUpload {
  constructor(
    private readonly target: StoredCodebase,
    readonly path: string,
    readonly expectedSize: number,
    private readonly writer: BlobWriter,
  ) {}

  get bytesReceived(): number {
    return this.writer.bytesReceived;
  }

  /** Returns a promise only when the chunk had to go to disk; await it before the next write. */
  write(chunk: Buffer): Promise<void> | void {
    const total = this.writer.bytesReceived + chunk.length;
    if (total > this.expectedSize) {
      throw invalidArgument(
        `${this.path}: total_size says ${this.expectedSize} bytes, but at least ${total} were sent`,
      );
    }
    return this.writer.write(chunk);
  }

  async commit(): Promise<UploadedFile> {
    const received = this.writer.bytesReceived;
    if (received !== this.expectedSize) {
      throw invalidArgument(`${this.path}: total_size says ${this.expectedSize} bytes, but ${received} were sent`);
    }
    // The protocol carries no mode: a re-uploaded file keeps its executable bit.
    const mode = this.target.manifest.get(this.path)?.mode ?? 0o644;
    const blob = await this.writer.finish(mode);
    try {
      const entry = Object.freeze({
        path: this.path,
        size: blob.size,
        mode: blob.mode,
        digest: blob.digest,
        mtimeMs: Date.now(),
      });
      await this.target.publish([{ put: entry }]);
    } finally {
      blob.release();
    }
    return { path: this.path, size: blob.size, digest: blob.digest };
  }

  /** Discards the upload; the codebase keeps its previous content. */
  abort(): Promise<void> {
    return this.writer.abort();
  }
}
