/**
 * The message sequence of one `UploadFiles` call: a metadata chunk, then the content in
 * data chunks of at most 64 KiB (the Python SDK's size). Streams are re-chunked as they
 * are read, never buffered whole; the byte count must match the declared size.
 */
import type { UploadChunk } from '../generated/codebase';

export const UPLOAD_CHUNK_BYTES = 64 * 1024;

export type UploadContent = Buffer | string | AsyncIterable<Buffer | Uint8Array | string> | NodeJS.ReadableStream;

export class UploadSizeMismatchError extends Error {
  constructor(
    readonly declared: number,
    readonly actual: number,
  ) {
    super(`content has ${actual > declared ? `more than ${declared}` : actual} bytes, but ${declared} were declared`);
    this.name = 'UploadSizeMismatchError';
  }
}

/** The size of in-memory content, or undefined for streams. */
export function knownSize(content: UploadContent): number | undefined {
  if (typeof content === 'string') return Buffer.byteLength(content);
  if (Buffer.isBuffer(content)) return content.length;
  return undefined;
}

function toBuffer(piece: Buffer | Uint8Array | string): Buffer {
  if (Buffer.isBuffer(piece)) return piece;
  if (typeof piece === 'string') return Buffer.from(piece);
  return Buffer.from(piece.buffer, piece.byteOffset, piece.byteLength);
}

async function* pieces(content: UploadContent): AsyncGenerator<Buffer> {
  if (typeof content === 'string' || Buffer.isBuffer(content)) {
    yield toBuffer(content);
    return;
  }
  for await (const piece of content as AsyncIterable<Buffer | Uint8Array | string>) yield toBuffer(piece);
}

/**
 * @param onBytes called after each data chunk is produced, with its length (for progress).
 */
export async function* uploadChunks(
  meta: { codebaseId: string; filePath: string; totalSize: number },
  content: UploadContent,
  onBytes?: (n: number) => void,
): AsyncGenerator<UploadChunk> {
  yield { metadata: { codebaseId: meta.codebaseId, filePath: meta.filePath, totalSize: meta.totalSize } };
  let sent = 0;
  for await (const piece of pieces(content)) {
    for (let offset = 0; offset < piece.length; offset += UPLOAD_CHUNK_BYTES) {
      const data = piece.subarray(offset, offset + UPLOAD_CHUNK_BYTES);
      sent += data.length;
      if (sent > meta.totalSize) throw new UploadSizeMismatchError(meta.totalSize, sent);
      yield { data };
      onBytes?.(data.length);
    }
  }
  if (sent !== meta.totalSize) throw new UploadSizeMismatchError(meta.totalSize, sent);
}
