/**
 * UploadFiles: one file per call. The first chunk carries the metadata, every later chunk
 * carries bytes. Any violation, a size mismatch or a cancelled call discards the upload;
 * the codebase keeps what it had.
 */
import { status, type ServerReadableStream } from '@grpc/grpc-js';
import type { UploadChunk, UploadResult } from '../../generated/codebase';
import { invalidArgument, RpcError } from '../rpcError';
import type { FileUpload } from './fileUpload';
import type { CodebaseStore } from './store';

export async function receiveUpload(store: CodebaseStore, call: ServerReadableStream<UploadChunk, UploadResult>): Promise<UploadResult> {
  let codebaseId = '';
  let upload: FileUpload | undefined;
  try {
    // Async iteration takes one chunk at a time, so a slow disk pushes back on the client.
    // A cancelled call is destroyed by grpc-js, which ends this loop with an error.
    for await (const chunk of call as AsyncIterable<UploadChunk>) {
      if (chunk.metadata) {
        if (upload) throw invalidArgument('only the first chunk may carry metadata; this upload sent a second metadata chunk');
        const meta = chunk.metadata;
        if (!meta.codebaseId) throw invalidArgument('codebase_id is required');
        if (!meta.filePath) throw invalidArgument('file_path is required');
        upload = store.beginUpload(meta.codebaseId, meta.filePath, meta.totalSize);
        codebaseId = meta.codebaseId;
      } else {
        if (!upload) throw invalidArgument('the first chunk must carry the metadata (codebase_id, file_path, total_size)');
        if (chunk.data && chunk.data.length > 0) await upload.write(chunk.data);
      }
    }
    if (!upload) throw invalidArgument('the upload sent no metadata chunk');
    if (call.cancelled) throw cancelled();
    const stored = await upload.commit();
    return { codebaseId, filePath: stored.path, size: stored.size, checksum: stored.digest };
  } catch (err) {
    await upload?.abort();
    throw call.cancelled ? cancelled() : err;
  }
}

function cancelled(): RpcError {
  return new RpcError(status.CANCELLED, 'upload cancelled by the client');
}
