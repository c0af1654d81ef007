/**
 * CodebaseService over a real grpc-js server on a unix socket, with the generated client,
 * against a real store in a temp directory.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { credentials, Server, ServerCredentials, status, type ServiceError } from '@grpc/grpc-js';
import {
  CodebaseServiceClient,
  CodebaseServiceService,
  type Codebase,
  type FileInfo,
  type ListCodebasesResponse,
  type ListFilesResponse,
  type UploadChunk,
  type UploadResult,
} from '../../src/generated/codebase';
import type { Empty } from '../../src/generated/common';
import { CodebaseStore } from '../../src/server/codebase/store';
import { createCodebaseService } from '../../src/server/codebase/service';

let dataDir: string;
let store: CodebaseStore;
let server: Server;
let client: CodebaseServiceClient;

before(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'codebase-service-'));
  store = await CodebaseStore.open(dataDir);
  server = new Server();
  server.addService(CodebaseServiceService, createCodebaseService(store));
  const socket = `unix://${join(dataDir, 'grpc.sock')}`;
  await new Promise<void>((resolve, reject) =>
    server.bindAsync(socket, ServerCredentials.createInsecure(), (e) => (e ? reject(e) : resolve())),
  );
  client = new CodebaseServiceClient(socket, credentials.createInsecure());
});

after(async () => {
  client.close();
  await new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
  await store.close();
  await rm(dataDir, { recursive: true, force: true });
});

// ---- client helpers ----

function unary<Res>(invoke: (callback: (err: ServiceError | null, res: Res) => void) => unknown): Promise<Res> {
  return new Promise((resolve, reject) => invoke((err, res) => (err ? reject(err) : resolve(res))));
}
const createCodebase = (name = 'cb', ownerId = 'owner') =>
  unary<Codebase>((cb) => client.createCodebase({ name, ownerId }, cb));
const getCodebase = (codebaseId: string) => unary<Codebase>((cb) => client.getCodebase({ codebaseId }, cb));
const deleteCodebase = (codebaseId: string) => unary<Empty>((cb) => client.deleteCodebase({ codebaseId }, cb));
const listCodebases = (ownerId: string, pageSize: number, pageToken = '') =>
  unary<ListCodebasesResponse>((cb) => client.listCodebases({ ownerId, pageSize, pageToken }, cb));
const listFiles = (codebaseId: string, path = '', recursive = false) =>
  unary<ListFilesResponse>((cb) => client.listFiles({ codebaseId, path, recursive }, cb)).then((r) => r.files);

/** Sends the chunks as given (raw protocol access for the error cases). */
function sendChunks(chunks: UploadChunk[]): Promise<UploadResult> {
  return new Promise((resolve, reject) => {
    const stream = client.uploadFiles((err, res) => (err ? reject(err) : resolve(res)));
    for (const c of chunks) stream.write(c);
    stream.end();
  });
}

function upload(
  codebaseId: string,
  filePath: string,
  content: Buffer | string,
  chunkSize = 64 * 1024,
): Promise<UploadResult> {
  const data = Buffer.from(content);
  const chunks: UploadChunk[] = [{ metadata: { codebaseId, filePath, totalSize: data.length } }];
  for (let i = 0; i < data.length; i += chunkSize) chunks.push({ data: data.subarray(i, i + chunkSize) });
  return sendChunks(chunks);
}

function download(codebaseId: string, filePath: string): Promise<{ content: Buffer; chunkSizes: number[] }> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    const stream = client.downloadFile({ codebaseId, filePath });
    stream.on('data', (chunk: { data: Buffer }) => parts.push(chunk.data));
    stream.on('error', reject);
    stream.on('end', () => resolve({ content: Buffer.concat(parts), chunkSizes: parts.map((p) => p.length) }));
  });
}

async function expectCode(
  promise: Promise<unknown>,
  code: status,
  messagePart?: string | RegExp,
): Promise<ServiceError> {
  const err = await promise.then(
    () => assert.fail(`expected status ${status[code]}, but the call succeeded`),
    (e: ServiceError) => e,
  );
  assert.equal(err.code, code, `expected ${status[code]}, got ${status[err.code]}: ${err.details}`);
  if (typeof messagePart === 'string')
    assert.ok(err.details.includes(messagePart), `"${err.details}" should mention "${messagePart}"`);
  else if (messagePart) assert.match(err.details, messagePart);
  return err;
}

const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');
const tmpEntries = () => readdir(join(dataDir, 'codebases', 'tmp'));
const waitFor = async (predicate: () => Promise<boolean>, what: string) => {
  for (let i = 0; i < 200; i++) {
    if (await predicate()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  assert.fail(`timed out waiting for ${what}`);
};

// ---- tests ----

describe('codebases', () => {
  it('creates, gets, and deletes a codebase', async () => {
    const created = await createCodebase('my project', 'alice');
    assert.match(created.id, /^cb_[0-9a-f]{16}$/);
    assert.equal(created.name, 'my project');
    assert.equal(created.ownerId, 'alice');
    assert.equal(created.size, 0);
    assert.equal(created.fileCount, 0);
    assert.ok(created.createdAt instanceof Date);

    const got = await getCodebase(created.id);
    assert.deepEqual(got, created);

    await deleteCodebase(created.id);
    await expectCode(getCodebase(created.id), status.NOT_FOUND, `codebase ${created.id} not found`);
    await expectCode(deleteCodebase(created.id), status.NOT_FOUND);
  });

  it('validates ids and names', async () => {
    await expectCode(getCodebase(''), status.INVALID_ARGUMENT, 'codebase_id is required');
    await expectCode(deleteCodebase(''), status.INVALID_ARGUMENT, 'codebase_id is required');
    await expectCode(listFiles(''), status.INVALID_ARGUMENT, 'codebase_id is required');
    await expectCode(getCodebase('cb_x'), status.NOT_FOUND, 'codebase cb_x not found');
    await expectCode(getCodebase('../../etc'), status.NOT_FOUND);
    await expectCode(createCodebase('', 'o'), status.INVALID_ARGUMENT, 'name is required');
  });

  it('accepts a codebase without owner_id (stored with owner "")', async () => {
    const created = await createCodebase('unowned', '');
    assert.equal(created.ownerId, '');
    assert.equal(created.name, 'unowned');
    assert.equal((await getCodebase(created.id)).ownerId, '');
  });

  it('lists by owner in pages', async () => {
    const owner = `pager-${randomBytes(3).toString('hex')}`;
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await createCodebase(`p${i}`, owner)).id);
    await createCodebase('someone else', 'other-owner');

    const seen: string[] = [];
    let pageToken = '';
    let pages = 0;
    do {
      const page = await listCodebases(owner, 2, pageToken);
      assert.ok(page.codebases.length <= 2);
      seen.push(...page.codebases.map((c) => c.id));
      pageToken = page.nextPageToken;
      pages++;
    } while (pageToken);
    assert.deepEqual(seen, ids, 'every codebase of the owner once, in creation order');
    assert.equal(pages, 3);

    const all = await listCodebases(owner, 0, '');
    assert.equal(all.codebases.length, 5, 'page_size 0 means the default page size');
    assert.equal(all.nextPageToken, '');

    await expectCode(listCodebases(owner, -1, ''), status.INVALID_ARGUMENT, 'page_size');
    await expectCode(listCodebases(owner, 2, 'garbage!'), status.INVALID_ARGUMENT, 'page_token');
  });
});

describe('upload and download', () => {
  it('uploads a small file, returns its sha256, and downloads it back', async () => {
    const { id } = await createCodebase();
    const result = await upload(id, 'src/hello.py', 'print("hi")\n');
    assert.deepEqual(result, { codebaseId: id, filePath: 'src/hello.py', size: 12, checksum: sha256('print("hi")\n') });
    assert.equal((await download(id, 'src/hello.py')).content.toString(), 'print("hi")\n');
    const info = await getCodebase(id);
    assert.equal(info.fileCount, 1);
    assert.equal(info.size, 12);
    assert.ok(info.updatedAt!.getTime() >= info.createdAt!.getTime());
  });

  it('uploads an empty file (metadata chunk only)', async () => {
    const { id } = await createCodebase();
    const result = await sendChunks([{ metadata: { codebaseId: id, filePath: 'empty.txt', totalSize: 0 } }]);
    assert.equal(result.size, 0);
    assert.equal(result.checksum, sha256(''));
    assert.equal((await download(id, 'empty.txt')).content.length, 0);
  });

  it('round-trips a 1 MB file sent in 64 KiB chunks and streams it back in 64 KiB chunks', async () => {
    const { id } = await createCodebase();
    const content = randomBytes(1024 * 1024 + 123);
    const result = await upload(id, 'big.bin', content);
    assert.equal(result.checksum, sha256(content));
    const { content: back, chunkSizes } = await download(id, 'big.bin');
    assert.ok(back.equals(content));
    assert.equal(chunkSizes.length, 17);
    assert.ok(chunkSizes.slice(0, -1).every((n) => n === 64 * 1024));
  });

  it('round-trips a 3 MB file (spills to a temp file) sent in odd-sized chunks', async () => {
    const { id } = await createCodebase();
    const content = randomBytes(3 * 1024 * 1024 + 7);
    const result = await upload(id, 'bigger.bin', content, 50_000);
    assert.equal(result.checksum, sha256(content));
    assert.ok((await download(id, 'bigger.bin')).content.equals(content));
    assert.deepEqual(await tmpEntries(), []);
  });

  it('overwrites a file', async () => {
    const { id } = await createCodebase();
    await upload(id, 'a.txt', 'one');
    await upload(id, 'a.txt', 'second version');
    assert.equal((await download(id, 'a.txt')).content.toString(), 'second version');
    const info = await getCodebase(id);
    assert.equal(info.fileCount, 1);
    assert.equal(info.size, 'second version'.length);
  });

  it('stores identical content once across codebases', async () => {
    const content = `shared ${randomBytes(8).toString('hex')}`;
    const a = await createCodebase();
    const b = await createCodebase();
    await upload(a.id, 'x.txt', content);
    await upload(b.id, 'deep/y.txt', content);
    const digest = sha256(content);
    const names = await readdir(join(dataDir, 'codebases', 'blobs', digest.slice(0, 2)));
    assert.deepEqual(
      names.filter((n) => n.startsWith(digest)),
      [digest],
    );
    assert.equal(
      store.snapshot(a.id).entries.get('x.txt')!.digest,
      store.snapshot(b.id).entries.get('deep/y.txt')!.digest,
    );
  });

  it('answers NOT_FOUND for a missing file or codebase, INVALID_ARGUMENT for missing fields', async () => {
    const { id } = await createCodebase();
    await expectCode(download(id, 'nope.txt'), status.NOT_FOUND, 'nope.txt');
    await expectCode(download('cb_0000000000000000', 'a'), status.NOT_FOUND, 'codebase cb_0000000000000000 not found');
    await expectCode(download('', 'a'), status.INVALID_ARGUMENT, 'codebase_id is required');
    await expectCode(download(id, ''), status.INVALID_ARGUMENT, 'file_path is required');
    await expectCode(upload('cb_0000000000000000', 'a', 'x'), status.NOT_FOUND);
    await expectCode(upload('', 'a', 'x'), status.INVALID_ARGUMENT, 'codebase_id is required');
    await expectCode(upload(id, '', 'x'), status.INVALID_ARGUMENT, 'file_path is required');
  });
});

describe('upload atomicity: a failed upload leaves the old content and no temp file', () => {
  let id: string;
  before(async () => {
    id = (await createCodebase()).id;
    await upload(id, 'keep.txt', 'original');
  });

  const assertUnchanged = async () => {
    assert.equal((await download(id, 'keep.txt')).content.toString(), 'original');
    await waitFor(async () => (await tmpEntries()).length === 0, 'temp files to be removed');
    assert.equal((await getCodebase(id)).fileCount, 1);
  };

  it('total_size larger than the bytes sent', async () => {
    const err = await expectCode(
      sendChunks([
        { metadata: { codebaseId: id, filePath: 'keep.txt', totalSize: 100 } },
        { data: Buffer.from('short') },
      ]),
      status.INVALID_ARGUMENT,
    );
    assert.match(err.details, /100/);
    assert.match(err.details, /\b5\b/);
    await assertUnchanged();
  });

  it('total_size smaller than the bytes sent', async () => {
    await expectCode(
      sendChunks([
        { metadata: { codebaseId: id, filePath: 'keep.txt', totalSize: 3 } },
        { data: Buffer.from('too long') },
      ]),
      status.INVALID_ARGUMENT,
      /says 3 bytes/,
    );
    await assertUnchanged();
  });

  it('negative total_size', async () => {
    await expectCode(
      sendChunks([{ metadata: { codebaseId: id, filePath: 'keep.txt', totalSize: -1 } }]),
      status.INVALID_ARGUMENT,
      'total_size',
    );
    await assertUnchanged();
  });

  it('data before metadata', async () => {
    await expectCode(
      sendChunks([{ data: Buffer.from('x') }, { metadata: { codebaseId: id, filePath: 'keep.txt', totalSize: 1 } }]),
      status.INVALID_ARGUMENT,
      'first chunk must carry the metadata',
    );
    await assertUnchanged();
  });

  it('no chunks at all', async () => {
    await expectCode(sendChunks([]), status.INVALID_ARGUMENT, 'no metadata');
    await assertUnchanged();
  });

  it('a second metadata chunk', async () => {
    await expectCode(
      sendChunks([
        { metadata: { codebaseId: id, filePath: 'keep.txt', totalSize: 1 } },
        { data: Buffer.from('x') },
        { metadata: { codebaseId: id, filePath: 'keep.txt', totalSize: 1 } },
      ]),
      status.INVALID_ARGUMENT,
      'second metadata',
    );
    await assertUnchanged();
  });

  it('the client cancels mid-stream (after 2 MB have been spilled to disk)', async () => {
    const errors: ServiceError[] = [];
    const stream = client.uploadFiles((err) => err && errors.push(err));
    stream.write({ metadata: { codebaseId: id, filePath: 'keep.txt', totalSize: 10 * 1024 * 1024 } });
    for (let i = 0; i < 32; i++) stream.write({ data: randomBytes(64 * 1024) });
    await waitFor(async () => (await tmpEntries()).length === 1, 'the upload to reach a temp file');
    stream.cancel();
    await waitFor(async () => errors.length === 1, 'the cancelled call to fail');
    assert.equal(errors[0].code, status.CANCELLED);
    await assertUnchanged();
  });
});

describe('path validation', () => {
  let id: string;
  before(async () => {
    id = (await createCodebase()).id;
    await upload(id, 'file', 'f');
    await upload(id, 'dir/inner.txt', 'i');
  });

  const rejected: Array<[string, string]> = [
    ['/etc/passwd', 'absolute'],
    ['../escape', '".." segment'],
    ['a/../../escape', '".." segment'],
    ['a//b', 'empty segment'],
    ['a\0b', 'NUL'],
    ['x'.repeat(5000), 'longer than'],
    [`${'n'.repeat(256)}/a`, 'name is longer'],
    ['a\\b', 'backslash'],
    ['.', 'root'],
    ['file/child', '"file" is a file'],
    ['file/deeper/child', '"file" is a file'],
    ['dir', '"dir" is a directory'],
  ];
  for (const [path, reason] of rejected) {
    it(`rejects ${JSON.stringify(path.length > 40 ? path.slice(0, 40) + '…' : path)} (${reason})`, async () => {
      await expectCode(upload(id, path, 'x'), status.INVALID_ARGUMENT);
      assert.deepEqual(
        (await listFiles(id, '', true)).map((f) => f.path),
        ['dir', 'dir/inner.txt', 'file'],
      );
    });
  }

  it('accepts and normalises ./ prefixes', async () => {
    const result = await upload(id, './norm/x.txt', 'x');
    assert.equal(result.filePath, 'norm/x.txt');
    assert.equal((await download(id, 'norm/x.txt')).content.toString(), 'x');
  });

  it('never writes outside the data dir', async () => {
    const outside = await readdir(join(dataDir, '..')).then((n) => n.filter((x) => x === 'escape'));
    assert.deepEqual(outside, []);
  });
});

describe('listFiles', () => {
  let id: string;
  before(async () => {
    id = (await createCodebase()).id;
    for (const p of ['README.md', 'src/main.py', 'src/lib/util.py', 'src/lib/deep/x.py', 'docs/a.md'])
      await upload(id, p, `content of ${p}`);
  });

  const summary = (files: FileInfo[]) => files.map((f) => `${f.path}${f.isDir ? '/' : ''}`);

  it('lists the root non-recursively with derived directories', async () => {
    const files = await listFiles(id);
    assert.deepEqual(summary(files), ['README.md', 'docs/', 'src/']);
    const readme = files.find((f) => f.name === 'README.md')!;
    assert.equal(readme.size, 'content of README.md'.length);
    assert.ok(readme.modifiedAt instanceof Date);
  });

  it('lists recursively', async () => {
    assert.deepEqual(summary(await listFiles(id, '', true)), [
      'README.md',
      'docs/',
      'docs/a.md',
      'src/',
      'src/lib/',
      'src/lib/deep/',
      'src/lib/deep/x.py',
      'src/lib/util.py',
      'src/main.py',
    ]);
  });

  it('lists a subdirectory, with paths from the codebase root', async () => {
    const files = await listFiles(id, 'src/lib');
    assert.deepEqual(summary(files), ['src/lib/deep/', 'src/lib/util.py']);
    assert.equal(files[1].name, 'util.py');
  });

  it('answers NOT_FOUND for an unknown directory and INVALID_ARGUMENT for a file or a bad path', async () => {
    await expectCode(listFiles(id, 'nope'), status.NOT_FOUND, 'nope');
    await expectCode(listFiles(id, 'src/main.py'), status.INVALID_ARGUMENT, 'is a file');
    await expectCode(listFiles(id, '../x'), status.INVALID_ARGUMENT);
  });

  it('lists an empty codebase root as empty', async () => {
    const { id: empty } = await createCodebase();
    assert.deepEqual(await listFiles(empty), []);
  });
});

describe('delete', () => {
  it('is refused while the in-use hook names a sandbox', async () => {
    const { id } = await createCodebase();
    store.setInUseCheck((codebaseId) => (codebaseId === id ? 'sb_0123456789abcdef' : undefined));
    try {
      await expectCode(deleteCodebase(id), status.FAILED_PRECONDITION, 'sb_0123456789abcdef');
      await getCodebase(id);
    } finally {
      store.setInUseCheck(() => undefined);
    }
    await deleteCodebase(id);
    await expectCode(getCodebase(id), status.NOT_FOUND);
  });
});

describe('many concurrent uploads', () => {
  it('keeps every file of 500 uploads over 16 streams', async () => {
    const { id } = await createCodebase();
    const paths = Array.from({ length: 500 }, (_, i) => `pkg${i % 10}/mod${i}.ts`);
    let next = 0;
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        while (next < paths.length) {
          const p = paths[next++];
          await upload(id, p, `export const name = ${JSON.stringify(p)};\n`);
        }
      }),
    );
    const info = await getCodebase(id);
    assert.equal(info.fileCount, 500);
    const snapshot = store.snapshot(id);
    assert.equal(snapshot.entries.size, 500);
    assert.equal((await download(id, 'pkg7/mod347.ts')).content.toString(), 'export const name = "pkg7/mod347.ts";\n');
  });
});
