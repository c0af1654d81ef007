// UploadBatch (agentfense.ext.v1) on the real embedded server: the wire behaviour (order,
// atomic files, errors that name the file and keep what was answered) and uploadFiles
// choosing it. The fallback to UploadFiles is covered by client-sandbox.test.ts, whose
// FakeServer, like AgentFense's own server, has no UploadBatch.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { credentials, status, type ServiceError } from '@grpc/grpc-js';
import { BatchUploadServiceClient } from '../../src/generated/batch_upload';
import type { UploadChunk, UploadResult } from '../../src/generated/codebase';
import { SandboxClient, UploadError, uploadFiles, walkWorkspace, type UploadProgress } from '../../src/client';
import { makeTempDir, startServer, type TestServer } from '../helpers/server';

let server: TestServer;
let raw: BatchUploadServiceClient;
let client: SandboxClient;

before(async () => {
  server = await startServer();
  raw = new BatchUploadServiceClient(server.address, credentials.createInsecure());
  client = new SandboxClient({ endpoint: server.address });
});
after(async () => {
  raw.close();
  client.close();
  await server.stop();
});

const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');
const file = (
  codebaseId: string,
  filePath: string,
  content: Buffer | string,
  totalSize = Buffer.byteLength(content),
): UploadChunk[] => {
  const data = Buffer.from(content);
  const chunks: UploadChunk[] = [{ metadata: { codebaseId, filePath, totalSize } }];
  for (let i = 0; i < data.length; i += 65536) chunks.push({ data: data.subarray(i, i + 65536) });
  return chunks;
};

/** Sends the chunks in one UploadBatch call; the answers received and how the call ended. */
function batch(chunks: UploadChunk[]): Promise<{ results: UploadResult[]; error?: ServiceError }> {
  return new Promise((resolve) => {
    const results: UploadResult[] = [];
    const call = raw.uploadBatch();
    call.on('data', (r: UploadResult) => results.push(r));
    call.on('error', (error: ServiceError) => resolve({ results, error }));
    call.on('end', () => setImmediate(() => resolve({ results })));
    for (const c of chunks) call.write(c);
    call.end();
  });
}

describe('UploadBatch on the wire', () => {
  test('answers every file in order with its size and sha256; the codebase holds them all', async () => {
    const id = await server.createCodebase({});
    const big = Buffer.alloc(300_000, 9);
    const { results, error } = await batch([
      ...file(id, 'a.txt', 'alpha\n'),
      ...file(id, 'dir/empty', ''),
      ...file(id, 'dir/big.bin', big),
    ]);
    assert.equal(error, undefined);
    assert.deepEqual(results, [
      { codebaseId: id, filePath: 'a.txt', size: 6, checksum: sha256('alpha\n') },
      { codebaseId: id, filePath: 'dir/empty', size: 0, checksum: sha256('') },
      { codebaseId: id, filePath: 'dir/big.bin', size: 300_000, checksum: sha256(big) },
    ]);
    assert.deepEqual(await server.listFiles(id), ['a.txt', 'dir/big.bin', 'dir/empty']);
    assert.equal(await server.download(id, 'dir/big.bin'), big.toString());
  });

  test('a path sent twice ends with the later content', async () => {
    const id = await server.createCodebase({});
    const { results, error } = await batch([
      ...file(id, 'x.txt', 'first'),
      ...file(id, 'y.txt', 'y'),
      ...file(id, 'x.txt', 'second'),
    ]);
    assert.equal(error, undefined);
    assert.equal(results.length, 3);
    assert.equal(await server.download(id, 'x.txt'), 'second');
  });

  test('a bad path fails the call naming it; files answered before stay, files after are not stored', async () => {
    const id = await server.createCodebase({});
    const { results, error } = await batch([
      ...file(id, 'ok.txt', 'ok'),
      ...file(id, '../escape.txt', 'x'),
      ...file(id, 'after.txt', 'a'),
    ]);
    assert.equal(error?.code, status.INVALID_ARGUMENT);
    assert.match(error!.details, /escape\.txt/);
    assert.deepEqual(
      results.map((r) => r.filePath),
      ['ok.txt'],
    );
    assert.deepEqual(await server.listFiles(id), ['ok.txt']);
  });

  test('a file shorter than its total_size is refused and never appears', async () => {
    const id = await server.createCodebase({});
    const { results, error } = await batch([...file(id, 'whole.txt', 'whole'), ...file(id, 'short.txt', 'abc', 10)]);
    assert.equal(error?.code, status.INVALID_ARGUMENT);
    assert.match(error!.details, /short\.txt: total_size says 10 bytes, but 3 were sent/);
    assert.deepEqual(
      results.map((r) => r.filePath),
      ['whole.txt'],
    );
    assert.deepEqual(await server.listFiles(id), ['whole.txt']);
  });

  test('data before any metadata, and a missing codebase, are clear errors', async () => {
    const noMeta = await batch([{ data: Buffer.from('orphan') }]);
    assert.equal(noMeta.error?.code, status.INVALID_ARGUMENT);
    assert.match(noMeta.error!.details, /before any metadata chunk/);
    const missing = await batch(file('cb_missing', 'a.txt', 'a'));
    assert.equal(missing.error?.code, status.NOT_FOUND);
    assert.match(missing.error!.details, /cb_missing/);
  });

  test('a call cancelled in the middle of a file leaves that file out, and the server serves on', async () => {
    const id = await server.createCodebase({});
    const call = raw.uploadBatch();
    const answered: string[] = [];
    call.on('data', (r: UploadResult) => answered.push(r.filePath));
    const ended = new Promise<ServiceError>((resolve) => call.on('error', resolve));
    for (const c of file(id, 'done.txt', 'done')) call.write(c);
    call.write({ metadata: { codebaseId: id, filePath: 'half.bin', totalSize: 200_000 } });
    call.write({ data: Buffer.alloc(65536, 1) });
    // Wait for done.txt's answer: the server has taken everything before half.bin's bytes.
    while (answered.length === 0) await new Promise((r) => setTimeout(r, 10));
    call.cancel();
    assert.equal((await ended).code, status.CANCELLED);
    await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(await server.listFiles(id), ['done.txt']);
    const after = await batch(file(id, 'later.txt', 'later'));
    assert.equal(after.error, undefined);
  });
});

describe('uploadFiles over UploadBatch', () => {
  test('the client sees the extension and uploads a folder through it with progress', async () => {
    assert.equal(await client.supportsBatchUpload(), true);
    const folder = makeTempDir('af-batch-');
    try {
      const expected = new Map<string, Buffer>();
      for (let i = 0; i < 250; i++) {
        const rel = `pkg${i % 7}/file${i}.txt`;
        const content = Buffer.from(`file ${i}\n`.repeat(i));
        fs.mkdirSync(join(folder, `pkg${i % 7}`), { recursive: true });
        fs.writeFileSync(join(folder, rel), content);
        expected.set(rel, content);
      }
      fs.writeFileSync(join(folder, 'large.bin'), Buffer.alloc(500_000, 3));
      expected.set('large.bin', Buffer.alloc(500_000, 3));
      const id = await server.createCodebase({});
      const files = await walkWorkspace(folder);
      const reports: UploadProgress[] = [];
      const results = await uploadFiles(client, id, files, { onProgress: (p) => reports.push(p) });

      assert.equal(results.length, files.length);
      files.forEach((f, i) => {
        assert.equal(results[i]!.filePath, f.path, 'results line up with the files given');
        assert.equal(results[i]!.checksum, sha256(expected.get(f.path)!));
      });
      assert.deepEqual(await server.listFiles(id), [...expected.keys()].sort());
      const last = reports.at(-1)!;
      assert.equal(last.filesDone, files.length);
      assert.equal(last.bytesDone, last.bytesTotal);
      assert.ok(
        reports.some((r) => r.currentFile === 'large.bin' && r.bytesDone < r.bytesTotal),
        'byte-level progress inside a big file',
      );
      assert.ok(
        server.logs.some((l) => l.includes('/agentfense.ext.v1.BatchUploadService/UploadBatch')),
        'UploadBatch calls were made',
      );
      assert.ok(
        !server.logs.some((l) => l.includes('/sandbox.v1.CodebaseService/UploadFiles')),
        'no per-file UploadFiles call was made',
      );
    } finally {
      fs.rmSync(folder, { recursive: true, force: true });
    }
  });

  test('a file that vanished since the walk fails the upload with an UploadError naming it', async () => {
    const folder = makeTempDir('af-batch-gone-');
    try {
      for (let i = 0; i < 40; i++) fs.writeFileSync(join(folder, `f${i}.txt`), `${i}`);
      const files = await walkWorkspace(folder);
      fs.rmSync(join(folder, 'f17.txt'));
      const id = await server.createCodebase({});
      await assert.rejects(uploadFiles(client, id, files), (err: UploadError) => {
        assert.ok(err instanceof UploadError, String(err));
        assert.equal(err.filePath, 'f17.txt');
        assert.match(err.message, /f17\.txt/);
        return true;
      });
      assert.ok(!(await server.listFiles(id)).includes('f17.txt'));
    } finally {
      fs.rmSync(folder, { recursive: true, force: true });
    }
  });
});
