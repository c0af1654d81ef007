/** CodebaseStore on real files: persistence, recovery, sandbox changes, blob sharing and GC. */
import { afterEach, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { appendFile, chmod, mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { status } from '@grpc/grpc-js';
import { CodebaseStore } from '../../src/server/codebase/store';
import { RpcError, toRpcError } from '../../src/server/rpc/rpcError';
import { createLogger } from '../../src/server/logger';
import { rootOnly } from '../helpers/privileges';

let dataDir: string;
let work: string; // plays the sandbox's writable layer
let store: CodebaseStore;

beforeEach(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'codebase-store-'));
  work = await mkdtemp(join(tmpdir(), 'codebase-layer-'));
  store = await CodebaseStore.open(dataDir);
});

afterEach(async () => {
  await store.close();
  await rm(dataDir, { recursive: true, force: true });
  await rm(work, { recursive: true, force: true });
});

const sha256 = (s: string | Buffer) => createHash('sha256').update(s).digest('hex');
const root = () => join(dataDir, 'codebases');

async function put(codebaseId: string, path: string, content: string | Buffer): Promise<void> {
  const data = Buffer.from(content);
  const upload = store.beginUpload(codebaseId, path, data.length);
  await upload.write(data);
  await upload.commit();
}

async function read(s: CodebaseStore, codebaseId: string, path: string): Promise<string> {
  const parts: Buffer[] = [];
  for await (const chunk of await s.openRead(codebaseId, path)) parts.push(chunk as Buffer);
  return Buffer.concat(parts).toString();
}

async function sourceFile(name: string, content: string, mode = 0o644): Promise<string> {
  const path = join(work, name);
  await writeFile(path, content);
  await chmod(path, mode);
  return path;
}

async function reopen(): Promise<CodebaseStore> {
  await store.close();
  store = await CodebaseStore.open(dataDir);
  return store;
}

async function allBlobNames(): Promise<string[]> {
  const names: string[] = [];
  for (const dir of await readdir(join(root(), 'blobs'))) names.push(...(await readdir(join(root(), 'blobs', dir))));
  return names.sort();
}

async function expectRpc(
  promise: Promise<unknown> | (() => unknown),
  code: status,
  messagePart?: string,
): Promise<void> {
  let err: unknown;
  try {
    await (typeof promise === 'function' ? promise() : promise);
  } catch (e) {
    err = e;
  }
  assert.ok(err, `expected ${status[code]}, but it succeeded`);
  const rpc = toRpcError(err);
  assert.equal(rpc.code, code, `expected ${status[code]}, got ${status[rpc.code]}: ${rpc.message}`);
  if (messagePart) assert.ok(rpc.message.includes(messagePart), `"${rpc.message}" should mention "${messagePart}"`);
}

describe('restart recovery', () => {
  it('reopens with the same codebases and manifests', async () => {
    const a = await store.createCodebase('a', 'alice');
    await put(a.id, 'src/x.py', 'x = 1');
    await put(a.id, 'README', 'hello');
    await put(a.id, 'README', 'hello again');
    await store.applyChanges(a.id, [{ kind: 'delete', path: 'src/x.py' }]);
    const before = store.snapshot(a.id);
    const infoBefore = store.getCodebase(a.id);

    await reopen();
    const after = store.snapshot(a.id);
    assert.equal(after.version, before.version, 'equal content keeps its version across restarts');
    assert.deepEqual([...after.entries.entries()], [...before.entries.entries()]);
    assert.deepEqual(store.getCodebase(a.id), infoBefore);
    assert.equal(await read(store, a.id, 'README'), 'hello again');
  });

  it('ignores a torn last journal line', async () => {
    const a = await store.createCodebase('a', 'alice');
    await put(a.id, 'kept.txt', 'kept');
    await store.close();
    // A crash in the middle of appending the next batch.
    await appendFile(join(root(), a.id, 'journal.log'), '{"s":99,"t":1,"ops":[["p","torn.txt",4,420,"ab');
    store = await CodebaseStore.open(dataDir);
    assert.deepEqual([...store.snapshot(a.id).entries.keys()], ['kept.txt']);
    await put(a.id, 'next.txt', 'next');
    await reopen();
    assert.deepEqual([...store.snapshot(a.id).entries.keys()].sort(), ['kept.txt', 'next.txt']);
  });

  it('replays journal lines written after the last compaction and skips ones already in the snapshot', async () => {
    const a = await store.createCodebase('a', 'alice');
    await put(a.id, 'one', '1');
    await reopen(); // compacts: 'one' is now in manifest.json, the journal is empty
    await put(a.id, 'two', '2');
    const journal = await readFile(join(root(), a.id, 'journal.log'), 'utf8');
    assert.equal(journal.split('\n').filter(Boolean).length, 1, 'one line per upload');
    await reopen();
    assert.deepEqual([...store.snapshot(a.id).entries.keys()].sort(), ['one', 'two']);
  });

  it('compacts a long journal while running', async () => {
    const a = await store.createCodebase('a', 'alice');
    for (let i = 0; i < 1100; i++) await put(a.id, `f/${i}`, `${i}`);
    const journal = await readFile(join(root(), a.id, 'journal.log'), 'utf8');
    assert.ok(journal.split('\n').filter(Boolean).length < 1000, 'journal was folded into the snapshot');
    await reopen();
    assert.equal(store.getCodebase(a.id).fileCount, 1100);
    assert.equal(await read(store, a.id, 'f/1099'), '1099');
  });

  it('removes temp files, half-deleted codebases and half-created codebases on open', async () => {
    const a = await store.createCodebase('a', 'alice');
    await store.close();
    await writeFile(join(root(), 'tmp', 'abandoned.part'), 'partial upload');
    await mkdir(join(root(), 'tmp', 'deleted-cb_0000000000000000-1234'), { recursive: true });
    await mkdir(join(root(), 'cb_1111111111111111')); // created, but meta.json never written
    store = await CodebaseStore.open(dataDir);
    assert.deepEqual(await readdir(join(root(), 'tmp')), []);
    assert.deepEqual(
      (await readdir(root())).filter((n) => n.startsWith('cb_')),
      [a.id],
    );
    assert.deepEqual(
      store.listCodebases({}).codebases.map((c) => c.id),
      [a.id],
    );
  });

  it('skips a codebase it cannot read, keeps serving the others, and keeps its blobs', async () => {
    const broken = await store.createCodebase('broken', 'alice');
    const fine = await store.createCodebase('fine', 'bob');
    await put(broken.id, 'only-here', 'precious');
    await put(fine.id, 'f', 'fine');
    await store.close();
    await writeFile(join(root(), broken.id, 'meta.json'), '{ not json');
    const logged: string[] = [];
    store = await CodebaseStore.open(dataDir, { log: createLogger('warn', (line) => logged.push(line)) });
    assert.deepEqual(
      store.listCodebases({}).codebases.map((c) => c.id),
      [fine.id],
    );
    // One JSON line in the server's log, naming the codebase.
    const entry = logged.map((l) => JSON.parse(l)).find((e) => e.codebase === broken.id);
    assert.equal(entry?.level, 'error');
    assert.match(entry?.msg ?? '', /could not be loaded and is skipped/);
    assert.ok(
      (await allBlobNames()).includes(sha256('precious')),
      'blobs of the unreadable codebase are not collected',
    );
  });

  it('a server killed mid-upload leaves the previous content and no partial file', async () => {
    await store.close();
    const storeModule = join(__dirname, '..', '..', 'src', 'server', 'codebase', 'store.ts');
    const childCode = `
      const { CodebaseStore } = require(${JSON.stringify(storeModule)});
      (async () => {
        const store = await CodebaseStore.open(${JSON.stringify(dataDir)});
        const cb = await store.createCodebase('a', 'alice');
        const first = store.beginUpload(cb.id, 'f', 3);
        await first.write(Buffer.from('old'));
        await first.commit();
        const second = store.beginUpload(cb.id, 'f', 8 * 1024 * 1024);
        await second.write(Buffer.alloc(3 * 1024 * 1024, 1));
        process.stdout.write(cb.id + '\\n');
        setInterval(() => {}, 1000);
      })();`;
    const child = spawn(process.execPath, ['--import', 'tsx', '-e', childCode], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const id = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('\n')) resolve(out.trim());
      });
      child.on('exit', (code) => reject(new Error(`child exited early with ${code}`)));
    });
    assert.equal((await readdir(join(root(), 'tmp'))).length, 1, 'the partial upload is on disk when the server dies');
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));

    store = await CodebaseStore.open(dataDir);
    assert.equal(await read(store, id, 'f'), 'old');
    assert.deepEqual(await readdir(join(root(), 'tmp')), []);
    assert.deepEqual(await allBlobNames(), [sha256('old')]);
  });

  it('an unfinished upload leaves nothing behind', async () => {
    const a = await store.createCodebase('a', 'alice');
    await put(a.id, 'f', 'old');
    const upload = store.beginUpload(a.id, 'f', 4 * 1024 * 1024);
    await upload.write(Buffer.alloc(2 * 1024 * 1024, 1)); // spilled to a temp file
    assert.equal((await readdir(join(root(), 'tmp'))).length, 1);
    await upload.abort();
    assert.deepEqual(await readdir(join(root(), 'tmp')), []);
    assert.equal(await read(store, a.id, 'f'), 'old');
  });
});

describe('snapshots and applyChanges', () => {
  it('returns the same snapshot object while nothing changes, a new version after a change', async () => {
    const a = await store.createCodebase('a', 'alice');
    const s1 = store.snapshot(a.id);
    assert.equal(store.snapshot(a.id), s1);
    await put(a.id, 'x', 'x');
    const s2 = store.snapshot(a.id);
    assert.notEqual(s2.version, s1.version);
    assert.equal(s1.entries.size, 0, 'an old snapshot does not change');
    assert.equal(s2.entries.get('x')!.digest, sha256('x'));
    await expectRpc(() => store.snapshot('cb_0000000000000000'), status.NOT_FOUND);
  });

  it('applies writes and deletes together, fires onDidChange, updates size and count', async () => {
    const a = await store.createCodebase('a', 'alice');
    await put(a.id, 'old.txt', 'old');
    await put(a.id, 'keep.txt', 'keep');
    const events: string[] = [];
    store.onDidChange((id) => events.push(id));
    const before = store.snapshot(a.id);

    const snapshot = await store.applyChanges(a.id, [
      { kind: 'write', path: 'out/result.txt', source: await sourceFile('r', 'result!'), mode: 0o644 },
      { kind: 'write', path: 'run.sh', source: await sourceFile('s', '#!/bin/sh\necho hi\n', 0o755), mode: 0o755 },
      { kind: 'delete', path: 'old.txt' },
      { kind: 'delete', path: 'never-existed.txt' },
    ]);

    assert.notEqual(snapshot.version, before.version);
    assert.deepEqual([...snapshot.entries.keys()].sort(), ['keep.txt', 'out/result.txt', 'run.sh']);
    assert.equal(store.snapshot(a.id), snapshot);
    assert.deepEqual(events, [a.id]);
    const info = store.getCodebase(a.id);
    assert.equal(info.fileCount, 3);
    assert.equal(info.size, 'keep'.length + 'result!'.length + '#!/bin/sh\necho hi\n'.length);
    assert.equal(await read(store, a.id, 'out/result.txt'), 'result!');

    const script = snapshot.entries.get('run.sh')!;
    assert.equal(script.mode, 0o755);
    const scriptBlob = store.blobPathFor(script);
    assert.ok(scriptBlob.endsWith(`${script.digest}.x`));
    assert.equal(store.blobPath(script.digest, script.mode), scriptBlob);
    // Blob files are the server's alone (no reader group configured here).
    assert.equal((await stat(scriptBlob)).mode & 0o777, 0o700);
    const result = snapshot.entries.get('out/result.txt')!;
    assert.equal((await stat(store.blobPath(result.digest))).mode & 0o777, 0o600);

    // An upload carries no mode: re-uploading the script keeps it executable.
    await put(a.id, 'run.sh', '#!/bin/sh\necho bye\n');
    assert.equal(store.snapshot(a.id).entries.get('run.sh')!.mode, 0o755);
  });

  it('copies the source: later changes to it do not reach the blob', async () => {
    const a = await store.createCodebase('a', 'alice');
    const source = await sourceFile('f', 'first');
    const snapshot = await store.applyChanges(a.id, [{ kind: 'write', path: 'f', source, mode: 0o644 }]);
    await writeFile(source, 'changed later');
    assert.equal(await read(store, a.id, 'f'), 'first');
    const blob = store.blobPathFor(snapshot.entries.get('f')!);
    assert.notEqual((await stat(blob)).ino, (await stat(source)).ino);
  });

  it('turns a file into a directory within one batch', async () => {
    const a = await store.createCodebase('a', 'alice');
    await put(a.id, 'build', 'was a file');
    const snapshot = await store.applyChanges(a.id, [
      { kind: 'write', path: 'build/out.o', source: await sourceFile('o', 'obj'), mode: 0o644 },
      { kind: 'delete', path: 'build' },
    ]);
    assert.deepEqual([...snapshot.entries.keys()], ['build/out.o']);
  });

  it('rejects a conflicting batch as a whole', async () => {
    const a = await store.createCodebase('a', 'alice');
    await put(a.id, 'lib', 'a file');
    const before = store.snapshot(a.id);
    await expectRpc(
      store.applyChanges(a.id, [
        { kind: 'write', path: 'fine.txt', source: await sourceFile('ok', 'ok'), mode: 0o644 },
        { kind: 'write', path: 'lib/x.js', source: await sourceFile('x', 'x'), mode: 0o644 },
      ]),
      status.INVALID_ARGUMENT,
      '"lib" is a file',
    );
    assert.equal(store.snapshot(a.id), before);
    await expectRpc(
      store.applyChanges(a.id, [{ kind: 'delete', path: '../etc/passwd' }]),
      status.INVALID_ARGUMENT,
      '".." segment',
    );
  });

  it('refuses sources that are not regular files', async () => {
    const a = await store.createCodebase('a', 'alice');
    await symlink('/etc/passwd', join(work, 'link'));
    await mkdir(join(work, 'dir'));
    execFileSync('mkfifo', [join(work, 'fifo')]);
    for (const name of ['link', 'dir', 'fifo']) {
      await expectRpc(
        store.applyChanges(a.id, [{ kind: 'write', path: name, source: join(work, name), mode: 0o644 }]),
        status.INVALID_ARGUMENT,
        join(work, name),
      );
    }
    assert.equal(store.snapshot(a.id).entries.size, 0);
    assert.deepEqual(await readdir(join(root(), 'tmp')), []);
  });
});

describe('blobs', () => {
  it('deletes blobs only the deleted codebase used, keeps shared ones', async () => {
    const a = await store.createCodebase('a', 'alice');
    const b = await store.createCodebase('b', 'bob');
    await put(a.id, 'shared', 'shared content');
    await put(b.id, 'shared', 'shared content');
    await put(a.id, 'mine', 'only in a');
    assert.deepEqual(await allBlobNames(), [sha256('only in a'), sha256('shared content')].sort());

    await store.deleteCodebase(a.id);
    assert.deepEqual(await allBlobNames(), [sha256('shared content')]);
    assert.equal(await read(store, b.id, 'shared'), 'shared content');
    assert.ok(!(await readdir(root())).includes(a.id));
  });

  it('collects blobs left unreferenced by overwrites on the next open', async () => {
    const a = await store.createCodebase('a', 'alice');
    await put(a.id, 'f', 'version 1');
    await put(a.id, 'f', 'version 2');
    // Kept while running: a sandbox may still be linking from an older snapshot.
    assert.deepEqual(await allBlobNames(), [sha256('version 1'), sha256('version 2')].sort());
    await reopen();
    assert.deepEqual(await allBlobNames(), [sha256('version 2')]);
  });

  it('refuses to delete a codebase in use, and says by which sandbox', async () => {
    const a = await store.createCodebase('a', 'alice');
    await put(a.id, 'f', 'x');
    store.setInUseCheck((id) => (id === a.id ? 'sb_00000000000000aa' : undefined));
    await expectRpc(store.deleteCodebase(a.id), status.FAILED_PRECONDITION, 'sb_00000000000000aa');
    assert.equal(await read(store, a.id, 'f'), 'x');
    assert.deepEqual(await allBlobNames(), [sha256('x')]);
  });

  it('gives blobs, and nothing else, to the reader group, read-only', async () => {
    await store.close();
    const group = process.getuid!() === 0 ? 23456 : process.getgid!(); // only root can give files away
    store = await CodebaseStore.open(dataDir, { blobReaderGroup: group });
    const a = await store.createCodebase('a', 'alice');
    await put(a.id, 'small', 'small');
    await put(a.id, 'large', Buffer.alloc(2 * 1024 * 1024, 7));
    await store.applyChanges(a.id, [
      { kind: 'write', path: 'tool', source: await sourceFile('t', 'tool', 0o755), mode: 0o755 },
    ]);
    for (const entry of store.snapshot(a.id).entries.values()) {
      const s = await stat(store.blobPathFor(entry));
      assert.deepEqual(
        [s.uid, s.gid, s.mode & 0o777],
        [process.getuid!(), group, entry.mode === 0o755 ? 0o750 : 0o640],
        entry.path,
      );
    }
    for (const p of [
      root(),
      join(root(), 'blobs'),
      join(root(), 'blobs', '00'),
      join(root(), a.id),
      join(root(), a.id, 'meta.json'),
    ]) {
      assert.equal((await stat(p)).uid, process.getuid!(), p);
    }
  });

  it(
    'answers RESOURCE_EXHAUSTED when the disk is full and keeps the previous content',
    rootOnly('mounts a 3 MiB tmpfs'),
    async () => {
      const mountPoint = await mkdtemp(join(tmpdir(), 'codebase-full-'));
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=3m', 'tmpfs', mountPoint], { stdio: 'ignore' });
      const small = await CodebaseStore.open(mountPoint);
      try {
        const a = await small.createCodebase('a', 'alice');
        const fill = async (path: string, bytes: number) => {
          const upload = small.beginUpload(a.id, path, bytes);
          try {
            for (let sent = 0; sent < bytes; sent += 64 * 1024)
              await upload.write(Buffer.alloc(Math.min(64 * 1024, bytes - sent), path.length));
            await upload.commit();
          } catch (err) {
            await upload.abort();
            throw err;
          }
        };
        await fill('f', 1024 * 1024);
        await expectRpc(fill('f', 4 * 1024 * 1024), status.RESOURCE_EXHAUSTED, 'disk space');
        assert.equal(small.snapshot(a.id).entries.get('f')!.size, 1024 * 1024);
        assert.deepEqual(await readdir(join(mountPoint, 'codebases', 'tmp')), []);
      } finally {
        await small.close();
        execFileSync('umount', [mountPoint]);
        await rm(mountPoint, { recursive: true, force: true });
      }
    },
  );
});

describe('errors are RpcErrors', () => {
  it('maps unknown codebases and bad input to status codes', async () => {
    await expectRpc(
      () => store.getCodebase('cb_0000000000000000'),
      status.NOT_FOUND,
      'codebase cb_0000000000000000 not found',
    );
    const a = await store.createCodebase('a', 'alice');
    await expectRpc(() => store.beginUpload(a.id, 'x', -5), status.INVALID_ARGUMENT, 'total_size');
    await expectRpc(() => store.beginUpload(a.id, '/abs', 1), status.INVALID_ARGUMENT, 'relative');
    await expectRpc(store.openRead(a.id, 'missing'), status.NOT_FOUND, 'missing');
    await expectRpc(() => store.listFiles(a.id, 'missing', false), status.NOT_FOUND);
    assert.ok(new RpcError(status.NOT_FOUND, 'x') instanceof Error);
  });
});
