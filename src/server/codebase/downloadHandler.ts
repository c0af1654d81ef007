/** DownloadFile: streams a file in 64 KiB chunks, writing only as fast as the client reads. */
import type { ServerWritableStream } from '@grpc/grpc-js';
import type { DownloadFileRequest, FileChunk } from '../../generated/codebase';
import { requireField } from '../rpc/requiredField';
import type { CodebaseStore } from './store';

export async function sendFile(
  store: CodebaseStore,
  call: ServerWritableStream<DownloadFileRequest, FileChunk>,
): Promise<void> {
  const { codebaseId, filePath } = call.request;
  requireField(codebaseId, 'codebase_id');
  requireField(filePath, 'file_path');
  const source = await store.openRead(codebaseId, filePath);
  // Leaving the loop early (cancel, error) destroys `source`, closing the file.
  for await (const data of source as AsyncIterable<Buffer>) {
    if (call.cancelled || call.destroyed) return;
    if (!call.write({ data })) await drainedOrClosed(call);
  }
  if (!call.cancelled) call.end();
}

function drainedOrClosed(call: ServerWritableStream<DownloadFileRequest, FileChunk>): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      call.off('drain', done);
      call.off('close', done);
      resolve();
    };
    call.on('drain', done);
    call.on('close', done);
  });
}
