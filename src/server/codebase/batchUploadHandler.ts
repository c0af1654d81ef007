/**
 * UploadBatch (agentfense.ext.v1, our extension): many files in one call. A metadata chunk
 * starts a file, data chunks carry its bytes; each file is stored exactly as UploadFiles
 * stores one (atomically, validated the same way) and answered in order. Files are
 * committed one after another, so a path sent twice ends with the later content, while the
 * next files are already being received. The first failure stops the reading; the files
 * received whole before it are still stored and answered, then the call ends with the
 * failure's status. A cancelled call stores nothing more.
 */
import { status, type ServerDuplexStream } from '@grpc/grpc-js';
import type { UploadChunk, UploadResult } from '../../generated/codebase';
import { invalidArgument, RpcError, toRpcError } from '../rpc/rpcError';
import { requireField } from '../rpc/requiredField';
import type { FileUpload } from './fileUpload';
import { ChunkIntake } from './chunkIntake';
import type { CodebaseStore } from './store';

/** Files received whole but not yet answered before the call stops reading. */
const UNANSWERED_LIMIT = 64;

export function receiveBatch(store: CodebaseStore, call: ServerDuplexStream<UploadChunk, UploadResult>): void {
  let current: { upload: FileUpload; codebaseId: string } | undefined;
  let commits: Promise<void> = Promise.resolve();
  let unanswered = 0;
  /** No more chunks are read (a failure, or the end of the call). */
  let stopped = false;
  /** Queued files are dropped rather than stored (a failed commit, or nobody left to answer). */
  let discard = false;
  let failure: RpcError | undefined;
  /** The client is gone or grpc-js already sent a status: nothing more can be said. */
  let callGone = false;
  let settled = false;
  /** Once every queued commit is done: the failure's status, or a clean end. */
  const settleAfterCommits = () =>
    void commits.then(() => {
      if (settled) return;
      settled = true;
      if (callGone) return;
      if (failure) call.emit('error', failure.toServiceError());
      else call.end();
    });

  /** `reported`: the call has already ended (cancelled, or an 'error' grpc-js turned into the status). */
  const fail = (err: unknown, reported = false) => {
    failure ??= toRpcError(err);
    if (reported) {
      callGone = true;
      discard = true;
    }
    if (!stopped) {
      stopped = true;
      intake.stop();
      void current?.upload.abort().catch(() => undefined);
      current = undefined;
    }
    settleAfterCommits();
  };

  /** Queues the current file's commit behind the earlier ones; its answer follows theirs. */
  const finishCurrent = () => {
    if (!current) return;
    const { upload, codebaseId } = current;
    current = undefined;
    if (++unanswered === UNANSWERED_LIMIT) intake.hold();
    commits = commits.then(async () => {
      if (discard) return void (await upload.abort().catch(() => undefined));
      try {
        const stored = await upload.commit();
        if (discard) return;
        call.write({ codebaseId, filePath: stored.path, size: stored.size, checksum: stored.digest });
        if (unanswered-- === UNANSWERED_LIMIT) intake.release();
      } catch (err) {
        discard = true; // the files queued behind a failed one are not stored
        fail(err);
      }
    });
  };

  /** Returns a promise only when the chunk needs I/O (reading is held meanwhile). */
  const handle = (chunk: UploadChunk): Promise<void> | void => {
    if (chunk.metadata) {
      finishCurrent();
      const meta = chunk.metadata;
      if (!meta.codebaseId) throw invalidArgument(`codebase_id is required (file ${JSON.stringify(meta.filePath)})`);
      requireField(meta.filePath, 'file_path');
      current = {
        upload: store.beginUpload(meta.codebaseId, meta.filePath, meta.totalSize),
        codebaseId: meta.codebaseId,
      };
      return;
    }
    if (!current)
      throw invalidArgument(
        'a data chunk came before any metadata chunk: each file starts with its metadata (codebase_id, file_path, total_size)',
      );
    if (chunk.data && chunk.data.length > 0) return current.upload.write(chunk.data);
  };

  // Holds: a chunk's disk write in flight, and too many unanswered files.
  const intake = new ChunkIntake(call, handle, fail);
  // A chunk that could not be decoded arrives here (strictDecoding), already sent as the status.
  call.on('error', (err) => fail(err, true));
  call.on('cancelled', () => fail(new RpcError(status.CANCELLED, 'upload cancelled by the client'), true));
  call.on('end', () => {
    if (stopped) return;
    finishCurrent();
    stopped = true;
    intake.stop();
    settleAfterCommits();
  });
}
