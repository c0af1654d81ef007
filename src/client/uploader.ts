/**
 * Uploads many local files into a codebase: bounded concurrency, byte-level progress,
 * cancellation, and streaming reads (a file is never held in memory whole).
 */
import { status } from '@grpc/grpc-js';
import { closeSync, openSync, promises as fs, readSync } from 'node:fs';
import { AgentFenseError, UploadError } from './errors';
import type { SandboxClient } from './sandboxClient';
import type { UploadResult } from './types';
import { UPLOAD_CHUNK_BYTES } from './uploadChunks';
import type { LocalFile } from './workspaceWalker';

export interface UploadProgress {
  filesDone: number;
  filesTotal: number;
  bytesDone: number;
  bytesTotal: number;
  /** The file whose bytes or completion caused this report. */
  currentFile: string;
}

export interface UploadFilesOptions {
  /** Files in flight at once; default 16. */
  concurrency?: number;
  onProgress?: (progress: UploadProgress) => void;
  signal?: AbortSignal;
}

export const DEFAULT_UPLOAD_CONCURRENCY = 16;

/**
 * Uploads `files` (as from `walkWorkspace`) to `codebaseId`. On the first failure the
 * uploads in flight are cancelled and an `UploadError` naming the file is thrown (its
 * `cause` is the underlying error). Aborting `signal` rejects with the signal's reason.
 * A file's size is taken when it is opened, so a file edited since the walk is sent whole.
 */
export async function uploadFiles(
  client: SandboxClient,
  codebaseId: string,
  files: readonly LocalFile[],
  options: UploadFilesOptions = {},
): Promise<UploadResult[]> {
  const concurrency = Math.max(1, Math.floor(options.concurrency ?? DEFAULT_UPLOAD_CONCURRENCY));
  options.signal?.throwIfAborted();
  // The caller's abort and our own first failure both stop everything. Each upload has its
  // own controller (a call listens to its signal), and one listener on the caller's signal
  // aborts the ones in flight: the caller's signal never has more than one listener of ours.
  const inFlight = new Set<AbortController>();
  let stopped = false;
  const stopAll = (reason: unknown) => {
    if (stopped) return;
    stopped = true;
    for (const call of inFlight) call.abort(reason);
  };
  const onCallerAbort = () => stopAll(options.signal!.reason);
  options.signal?.addEventListener('abort', onCallerAbort, { once: true });

  const results: UploadResult[] = new Array(files.length);
  const progress: UploadProgress = {
    filesDone: 0,
    filesTotal: files.length,
    bytesDone: 0,
    bytesTotal: files.reduce((sum, f) => sum + f.size, 0),
    currentFile: '',
  };
  const report = options.onProgress ? () => options.onProgress!({ ...progress }) : undefined;
  let next = 0;
  let failure: unknown;

  const onBytesOf = (file: LocalFile, size: number) => {
    let sent = 0;
    return (n: number) => {
      progress.bytesDone += n;
      sent += n;
      // The file's last chunk is reported with its completion, a moment later.
      if (report && sent < size) {
        progress.currentFile = file.path;
        report();
      }
    };
  };

  const uploadOne = async (file: LocalFile, signal: AbortSignal): Promise<UploadResult> => {
    if (file.size <= UPLOAD_CHUNK_BYTES) {
      // Most files fit in one chunk: read them synchronously (microseconds from the page
      // cache) rather than through four thread-pool round trips.
      const small = readSmallFile(file.absPath);
      if (small) {
        progress.bytesTotal += small.length - file.size;
        return await client.uploadFile(codebaseId, file.path, small, { size: small.length, signal, onBytes: onBytesOf(file, small.length) });
      }
    }
    const handle = await fs.open(file.absPath, 'r');
    try {
      const { size } = await handle.stat();
      // A file that grew or shrank since the walk: keep the totals honest.
      progress.bytesTotal += size - file.size;
      return await client.uploadFile(codebaseId, file.path, readChunks(handle, size), { size, signal, onBytes: onBytesOf(file, size) });
    } finally {
      await handle.close();
    }
  };

  const worker = async () => {
    while (next < files.length && !stopped) {
      const index = next++;
      const file = files[index]!;
      const call = new AbortController();
      inFlight.add(call);
      try {
        results[index] = await uploadOne(file, call.signal);
      } catch (err) {
        if (stopped) return; // another worker failed first, or the caller aborted
        failure = asUploadError(err, codebaseId, file);
        stopAll(failure);
        return;
      } finally {
        inFlight.delete(call);
      }
      progress.filesDone++;
      progress.currentFile = file.path;
      report?.();
    }
  };

  try {
    await Promise.all(Array.from({ length: Math.min(concurrency, files.length) }, worker));
  } finally {
    options.signal?.removeEventListener('abort', onCallerAbort);
  }
  if (options.signal?.aborted) throw options.signal.reason;
  if (failure) throw failure;
  return results;
}

/**
 * The whole content of a file of at most one chunk, or undefined when it is larger now
 * (it grew since the walk: the streaming path takes it).
 */
const smallFileScratch = Buffer.allocUnsafe(UPLOAD_CHUNK_BYTES + 1);

function readSmallFile(absPath: string): Buffer | undefined {
  const fd = openSync(absPath, 'r');
  try {
    // One byte more than a chunk tells "larger than a chunk" without a separate fstat. The
    // read is synchronous, so one scratch buffer serves every upload; the content is copied out.
    const buf = smallFileScratch;
    let length = 0;
    for (;;) {
      const n = readSync(fd, buf, length, buf.length - length, length);
      if (n === 0) break;
      length += n;
      if (length > UPLOAD_CHUNK_BYTES) return undefined;
    }
    return Buffer.from(buf.subarray(0, length));
  } finally {
    closeSync(fd);
  }
}

/**
 * The file's bytes in UPLOAD_CHUNK_BYTES pieces, each read into its own buffer (the call may
 * still hold the previous one). The last read asks for one byte more than `size`, so a file
 * that grew since it was opened yields too many bytes and uploadChunks reports the mismatch,
 * as it does for a file that shrank (the reads end early).
 */
async function* readChunks(handle: fs.FileHandle, size: number): AsyncGenerator<Buffer> {
  let position = 0;
  for (;;) {
    const remaining = size - position;
    const want = remaining < UPLOAD_CHUNK_BYTES ? remaining + 1 : UPLOAD_CHUNK_BYTES;
    const buf = Buffer.allocUnsafe(want);
    const { bytesRead } = await handle.read(buf, 0, want, position);
    if (bytesRead === 0) return;
    position += bytesRead;
    yield bytesRead === want ? buf : buf.subarray(0, bytesRead);
    // Done once a read that asked for the extra byte came back (a full chunk ending exactly at
    // `size` did not ask, so one more read checks for it).
    if (position > size || (position === size && want > remaining)) return;
  }
}

function asUploadError(err: unknown, codebaseId: string, file: LocalFile): Error {
  if (err instanceof UploadError) return err;
  if (err instanceof AgentFenseError) {
    return new UploadError(codebaseId, file.path, { code: err.code, serverMessage: err.serverMessage, call: 'uploadFile', cause: err });
  }
  const reason = `cannot read ${file.absPath}: ${(err as Error)?.message ?? String(err)}`;
  return new UploadError(codebaseId, file.path, { code: status.UNKNOWN, call: 'uploadFile', reason, cause: err });
}
