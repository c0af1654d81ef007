/**
 * One UploadBatch call (agentfense.ext.v1, served by the embedded server): files are written
 * one after another into the call, each as its UploadFiles message sequence, while the
 * server's answers (one per file, in order) come back. At most BATCH_WINDOW files are sent
 * ahead of their answers, so progress stays honest and a failure wastes little.
 */
import type { ClientDuplexStream, Metadata } from '@grpc/grpc-js';
import { once } from 'node:events';
import type { UploadChunk, UploadResult } from '../generated/codebase';
import { uploadChunks, type UploadContent } from './uploadChunks';

export const BATCH_WINDOW = 32;

export interface BatchFile {
  path: string;
  /** Called when the file is about to be sent, so it is sized and read only then. */
  read: () => BatchContent | Promise<BatchContent>;
}

export interface BatchContent {
  size: number;
  content: UploadContent;
}

export type BatchMethod = (md: Metadata) => ClientDuplexStream<UploadChunk, UploadResult>;

/** A failure of the call, with the file it concerns (the first unanswered one, or the one being read). */
export class BatchFailure extends Error {
  constructor(
    readonly filePath: string,
    readonly reason: unknown,
  ) {
    super(`upload of ${filePath} failed`);
  }
}

export interface BatchOptions {
  metadata: Metadata;
  signal?: AbortSignal;
  onBytes?: (path: string, n: number) => void;
  onResult?: (result: UploadResult) => void;
}

/**
 * Sends every file `files` yields (pulled only as the call has room, so several calls can
 * share one source) and resolves with the answers in order. Rejects with a BatchFailure, or
 * with the signal's reason when aborted (the call is cancelled).
 */
export function batchUploadCall(
  method: BatchMethod,
  codebaseId: string,
  files: Iterator<BatchFile>,
  o: BatchOptions,
): Promise<UploadResult[]> {
  return new Promise((resolve, reject) => {
    if (o.signal?.aborted) return reject(o.signal.reason);
    const call = method(o.metadata);
    const unanswered: string[] = [];
    const results: UploadResult[] = [];
    let settled = false;
    let windowOpened: (() => void) | undefined;
    const settle = (fn: () => void) => {
      if (settled) return;
      settled = true;
      o.signal?.removeEventListener('abort', onAbort);
      windowOpened?.();
      fn();
    };
    const failOn = (filePath: string, reason: unknown) => {
      call.cancel();
      settle(() => reject(new BatchFailure(filePath, reason)));
    };
    const onAbort = () => {
      call.cancel();
      settle(() => reject(o.signal!.reason));
    };
    o.signal?.addEventListener('abort', onAbort, { once: true });

    call.on('data', (r: UploadResult) => {
      if (settled) return;
      if (unanswered.shift() === undefined)
        return failOn(r.filePath, new Error('the server answered a file that was not sent'));
      results.push(r);
      o.onResult?.(r);
      if (unanswered.length < BATCH_WINDOW) windowOpened?.();
    });
    call.on('error', (err) => settle(() => reject(new BatchFailure(unanswered[0] ?? '', err))));
    call.on('end', () => {
      if (unanswered.length > 0)
        return failOn(unanswered[0]!, new Error('the server ended the call before answering every file'));
      settle(() => resolve(results));
    });

    const writeAll = async () => {
      for (;;) {
        if (unanswered.length >= BATCH_WINDOW) await new Promise<void>((r) => (windowOpened = r));
        windowOpened = undefined;
        if (settled) return;
        let file: BatchFile;
        try {
          const next = files.next();
          if (next.done) break;
          file = next.value;
        } catch (err) {
          return failOn(unanswered[0] ?? '', err);
        }
        unanswered.push(file.path);
        try {
          const { size, content } = await file.read();
          const chunks = uploadChunks({ codebaseId, filePath: file.path, totalSize: size }, content, (n) =>
            o.onBytes?.(file.path, n),
          );
          for await (const chunk of chunks) {
            if (settled) return;
            if (!call.write(chunk)) await once(call, 'drain');
          }
        } catch (err) {
          return failOn(file.path, err);
        }
      }
      call.end();
    };
    void writeAll();
  });
}
