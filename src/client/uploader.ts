/**
 * Uploads many local files into a codebase: byte-level progress, cancellation, and
 * streaming reads (a file is never held in memory whole). Against a server with UploadBatch
 * (the embedded one) files go through a few long calls; against any other, one
 * UploadFiles call per file, a bounded number in flight.
 */
import { status } from '@grpc/grpc-js';
import { closeSync, openSync, promises as fs, readSync } from 'node:fs';
import { AgentFenseError, UploadError } from './errors';
import type { SandboxClient } from './sandboxClient';
import type { UploadResult } from './types';
import type { BatchFile } from './batchUpload';
import { UPLOAD_CHUNK_BYTES } from './uploadChunks';
import type { UploadProgress } from '../core/backend';
import type { LocalFile } from '../core/sync/workspaceWalker';

export type { UploadProgress };

export interface UploadFilesOptions {
  /** UploadFiles calls in flight at once (servers without UploadBatch); default 16. */
  concurrency?: number;
  /** Use UploadBatch when the server has it (default); false: always one call per file. */
  batch?: boolean;
  onProgress?: (progress: UploadProgress) => void;
  signal?: AbortSignal;
}

export const DEFAULT_UPLOAD_CONCURRENCY = 16;
/** UploadBatch calls in flight: enough to keep the server's group commit busy. */
export const BATCH_CALLS = 4;

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
  options.signal?.throwIfAborted();
  if (options.batch !== false && files.length > 0 && (await client.supportsBatchUpload())) {
    return uploadInBatches(client, codebaseId, files, options);
  }
  const concurrency = Math.max(1, Math.floor(options.concurrency ?? DEFAULT_UPLOAD_CONCURRENCY));
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
  const progress = initialProgress(files);
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
        return await client.uploadFile(codebaseId, file.path, small, {
          size: small.length,
          signal,
          onBytes: onBytesOf(file, small.length),
        });
      }
    }
    const handle = await fs.open(file.absPath, 'r');
    try {
      const { size } = await handle.stat();
      // A file that grew or shrank since the walk: keep the totals honest.
      progress.bytesTotal += size - file.size;
      return await client.uploadFile(codebaseId, file.path, readChunks(handle, size), {
        size,
        signal,
        onBytes: onBytesOf(file, size),
      });
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
 * The batch path: BATCH_CALLS calls pull files from one shared queue, so a call slowed by a
 * big file leaves the small ones to the others. The first failure cancels the rest.
 */
async function uploadInBatches(
  client: SandboxClient,
  codebaseId: string,
  files: readonly LocalFile[],
  options: UploadFilesOptions,
): Promise<UploadResult[]> {
  const { signal } = options;
  const results: UploadResult[] = new Array(files.length);
  const progress = initialProgress(files);
  const report = options.onProgress ? () => options.onProgress!({ ...progress }) : undefined;
  const stop = new AbortController();
  const onCallerAbort = () => stop.abort(signal!.reason);
  signal?.addEventListener('abort', onCallerAbort, { once: true });
  let next = 0;
  let failure: unknown;

  const lane = async () => {
    /** Indexes of the files this call took, in order; answers come back in the same order. */
    const taken: number[] = [];
    let answered = 0;
    const queue: Iterator<BatchFile> = {
      next: () => {
        if (next >= files.length) return { done: true, value: undefined };
        const index = next++;
        taken.push(index);
        return { value: batchFile(files[index]!, progress) };
      },
    };
    try {
      await client.uploadBatch(codebaseId, queue, {
        signal: stop.signal,
        onBytes: (path, n) => {
          progress.bytesDone += n;
          if (report) {
            progress.currentFile = path;
            report();
          }
        },
        onResult: (r) => {
          results[taken[answered++]!] = r;
          progress.filesDone++;
          progress.currentFile = r.filePath;
          report?.();
        },
      });
    } catch (err) {
      if (stop.signal.aborted) return; // another call failed first, or the caller aborted
      const file = files[taken[answered] ?? taken[taken.length - 1] ?? 0]!;
      failure = asUploadError(err, codebaseId, file);
      stop.abort(failure);
    }
  };

  try {
    await Promise.all(Array.from({ length: Math.min(BATCH_CALLS, files.length) }, lane));
  } finally {
    signal?.removeEventListener('abort', onCallerAbort);
  }
  if (signal?.aborted) throw signal.reason;
  if (failure) throw failure;
  return results;
}

function initialProgress(files: readonly LocalFile[]): UploadProgress {
  return {
    filesDone: 0,
    filesTotal: files.length,
    bytesDone: 0,
    bytesTotal: files.reduce((sum, f) => sum + f.size, 0),
    currentFile: '',
  };
}

/** A file for UploadBatch: sized and read when its turn comes, like the per-file path. */
function batchFile(file: LocalFile, progress: UploadProgress): BatchFile {
  return {
    path: file.path,
    read: async () => {
      if (file.size <= UPLOAD_CHUNK_BYTES) {
        const small = readSmallFile(file.absPath);
        if (small) {
          progress.bytesTotal += small.length - file.size;
          return { size: small.length, content: small };
        }
      }
      const { size } = await fs.stat(file.absPath);
      progress.bytesTotal += size - file.size;
      return { size, content: readFileChunks(file.absPath, size) };
    },
  };
}

/** readChunks of a file opened on first use and closed when done. */
async function* readFileChunks(absPath: string, size: number): AsyncGenerator<Buffer> {
  const handle = await fs.open(absPath, 'r');
  try {
    yield* readChunks(handle, size);
  } finally {
    await handle.close();
  }
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
    return new UploadError(codebaseId, file.path, {
      code: err.code,
      serverMessage: err.serverMessage,
      call: 'uploadFile',
      cause: err,
    });
  }
  const reason = `cannot read ${file.absPath}: ${(err as Error)?.message ?? String(err)}`;
  return new UploadError(codebaseId, file.path, { code: status.UNKNOWN, call: 'uploadFile', reason, cause: err });
}
