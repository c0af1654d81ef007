// The UploadFiles message sequence: metadata first, then data chunks of at most 64 KiB.
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { describe, test } from 'node:test';
import { UPLOAD_CHUNK_BYTES, uploadChunks, UploadSizeMismatchError, knownSize } from '../../src/client/uploadChunks';
import type { UploadChunk } from '../../src/generated/codebase';

async function collect(gen: AsyncIterable<UploadChunk>): Promise<UploadChunk[]> {
  const out: UploadChunk[] = [];
  for await (const c of gen) out.push(c);
  return out;
}

const meta = (totalSize: number) => ({ codebaseId: 'cb', filePath: 'big.bin', totalSize });

describe('uploadChunks', () => {
  test('a 200 KiB file is metadata + 4 chunks of at most 64 KiB, in order', async () => {
    const content = Buffer.alloc(200 * 1024);
    for (let i = 0; i < content.length; i++) content[i] = i % 251;
    const chunks = await collect(uploadChunks(meta(content.length), content));
    assert.equal(UPLOAD_CHUNK_BYTES, 65536);
    assert.deepEqual(chunks[0], { metadata: meta(204800) });
    assert.equal((chunks[0] as UploadChunk).data, undefined);
    const data = chunks.slice(1).map((c) => c.data!);
    assert.deepEqual(
      data.map((d) => d.length),
      [65536, 65536, 65536, 8192],
    );
    assert.ok(chunks.slice(1).every((c) => c.metadata === undefined));
    assert.ok(Buffer.concat(data).equals(content));
  });

  test('an empty file is the metadata chunk alone', async () => {
    assert.deepEqual(await collect(uploadChunks(meta(0), Buffer.alloc(0))), [{ metadata: meta(0) }]);
  });

  test('strings are sent as UTF-8 with their byte length', async () => {
    assert.equal(knownSize('héllo'), 6);
    const chunks = await collect(uploadChunks(meta(6), 'héllo'));
    assert.equal(chunks[1]!.data!.toString(), 'héllo');
  });

  test('a stream is re-chunked as it is read: big pieces split, small pieces passed on', async () => {
    const pieces = [Buffer.alloc(150_000, 1), Buffer.alloc(10, 2), new Uint8Array([3, 3])];
    const progress: number[] = [];
    const chunks = await collect(uploadChunks(meta(150_012), Readable.from(pieces), (n) => progress.push(n)));
    assert.deepEqual(
      chunks.slice(1).map((c) => c.data!.length),
      [65536, 65536, 18928, 10, 2],
    );
    assert.deepEqual(progress, [65536, 65536, 18928, 10, 2]);
    assert.ok(chunks.slice(1).every((c) => Buffer.isBuffer(c.data)));
  });

  test('a stream longer or shorter than declared fails, before sending more than declared', async () => {
    const tooLong = uploadChunks(meta(70_000), Readable.from([Buffer.alloc(65_536), Buffer.alloc(65_536)]));
    const sent: number[] = [];
    await assert.rejects(
      (async () => {
        for await (const c of tooLong) if (c.data) sent.push(c.data.length);
      })(),
      UploadSizeMismatchError,
    );
    assert.deepEqual(sent, [65536], 'the chunk that would exceed the size is never yielded');
    await assert.rejects(
      collect(uploadChunks(meta(5), Readable.from([Buffer.alloc(3)]))),
      /content has 3 bytes, but 5 were declared/,
    );
  });
});
