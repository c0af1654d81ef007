/**
 * UploadFiles: one file per call. The first chunk carries the metadata, every later chunk
 * carries bytes. Any violation, a size mismatch or a cancelled call discards the upload;
 * the codebase keeps what it had.
 */
import { status, type ServerReadableStream } from '@grpc/grpc-js';
import type { UploadChunk, UploadResult } from '../../generated/codebase';
import { invalidArgument, RpcError } from '../rpc/rpcError';
import { requireField } from '../rpc/requiredField';
import type { FileUpload } from './fileUpload';
import { ChunkIntake } from './chunkIntake';
import type { CodebaseStore } from './store';

/**
 * Events rather than `for await`: async iteration destroys the call's duplex stream when the
 * loop ends, which costs an error object per upload, noticeable at thousands of uploads.
 */
export function receiveUpload(
  store: CodebaseStore,
  call: ServerReadableStream<UploadChunk, UploadResult>,
): Promise<UploadResult> {
  return new Promise((resolve, reject) => {
    let codebaseId = '';
    let upload: FileUpload | undefined;
    let finished = false;

    const fail = (err: unknown) => {
      if (finished) return;
      finished = true;
      intake.stop();
      const reason = call.cancelled ? cancelled() : err;
      void (upload?.abort() ?? Promise.resolve()).catch(() => undefined).then(() => reject(reason));
    };

    /** Returns a promise only when the chunk needs I/O; the call is paused meanwhile (backpressure). */
    const handle = (chunk: UploadChunk): Promise<void> | void => {
      if (chunk.metadata) {
        if (upload)
          throw invalidArgument('only the first chunk may carry metadata; this upload sent a second metadata chunk');
        const meta = chunk.metadata;
        requireField(meta.codebaseId, 'codebase_id');
        requireField(meta.filePath, 'file_path');
        upload = store.beginUpload(meta.codebaseId, meta.filePath, meta.totalSize);
        codebaseId = meta.codebaseId;
        return;
      }
      if (!upload)
        throw invalidArgument('the first chunk must carry the metadata (codebase_id, file_path, total_size)');
      if (chunk.data && chunk.data.length > 0) return upload.write(chunk.data);
    };

    const intake = new ChunkIntake(call, handle, fail);
    call.on('error', fail);
    // grpc-js also emits 'cancelled' when the stream closes after a finished call: build no error then.
    call.on('cancelled', () => finished || fail(cancelled()));
    call.on('end', () => {
      if (finished) return;
      if (!upload) return fail(invalidArgument('the upload sent no metadata chunk'));
      const current = upload;
      current.commit().then((stored) => {
        if (finished) return;
        finished = true;
        resolve({ codebaseId, filePath: stored.path, size: stored.size, checksum: stored.digest });
      }, fail);
    });
  });
}

function cancelled(): RpcError {
  return new RpcError(status.CANCELLED, 'upload cancelled by the client');
}
