/**
 * Uploads many local files into a codebase: bounded concurrency, byte-level progress,
 * cancellation, and streaming reads (a file is never held in memory whole).
 */
import { status } from '@grpc/grpc-js';
import { promises as fs } from 'node:fs';
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
  // One controller for all uploads: the caller's abort and our own first failure both stop everything.
  const stop = new AbortController();
  const onCallerAbort = () => stop.abort(options.signal!.reason);
  options.signal?.addEventListener('abort', onCallerAbort, { once: true });

  const results: UploadResult[] = new Array(files.length);
  const progress: UploadProgress = {
    filesDone: 0,
    filesTotal: files.length,
    bytesDone: 0,
    bytesTotal: files.reduce((sum, f) => sum + f.size, 0),
    currentFile: '',
  };
  let next = 0;
  let failure: unknown;

  const uploadOne = async (file: LocalFile): Promise<UploadResult> => {
    const handle = await fs.open(file.absPath, 'r');
    try {
      const { size } = await handle.stat();
      // A file that grew or shrank since the walk: keep the totals honest.
      progress.bytesTotal += size - file.size;
      const content = handle.createReadStream({ highWaterMark: UPLOAD_CHUNK_BYTES, autoClose: false });
      return await client.uploadFile(codebaseId, file.path, content, {
        size,
        signal: stop.signal,
        onBytes: (n) => {
          progress.bytesDone += n;
          progress.currentFile = file.path;
          options.onProgress?.({ ...progress });
        },
      });
    } finally {
      await handle.close();
    }
  };

  const worker = async () => {
    while (next < files.length && !stop.signal.aborted) {
      const index = next++;
      const file = files[index]!;
      try {
        results[index] = await uploadOne(file);
      } catch (err) {
        if (stop.signal.aborted) return; // another worker failed first, or the caller aborted
        failure = asUploadError(err, codebaseId, file);
        stop.abort(failure);
        return;
      }
      progress.filesDone++;
      progress.currentFile = file.path;
      options.onProgress?.({ ...progress });
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

function asUploadError(err: unknown, codebaseId: string, file: LocalFile): Error {
  if (err instanceof UploadError) return err;
  if (err instanceof AgentFenseError) {
    return new UploadError(codebaseId, file.path, { code: err.code, serverMessage: err.serverMessage, call: 'uploadFile', cause: err });
  }
  const reason = `cannot read ${file.absPath}: ${(err as Error)?.message ?? String(err)}`;
  return new UploadError(codebaseId, file.path, { code: status.UNKNOWN, call: 'uploadFile', reason, cause: err });
}
