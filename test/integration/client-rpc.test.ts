// The low-level SandboxClient against the FakeServer: retries, error mapping, auth, uploads, deadlines.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { status } from '@grpc/grpc-js';
import {
  AgentFenseError,
  CodebaseNotFoundError,
  ConnectionError,
  InvalidConfigurationError,
  SandboxClient,
  SessionNotFoundError,
  UnauthenticatedError,
  UploadError,
  uploadFiles,
  walkWorkspace,
} from '../../src/client';
import { getPreset } from '../../src/shared/presets';
import { FakeServer } from '../helpers/fakeServer';

const fastRetry = { maxAttempts: 3, initialBackoffMs: 1, maxBackoffMs: 5 };
let server: FakeServer;
let client: SandboxClient;

before(async () => {
  server = await FakeServer.start();
  client = new SandboxClient({ endpoint: server.endpoint, token: 's3cret', retry: fastRetry });
});
after(async () => {
  client.close();
  await server.stop();
});

describe('retries', () => {
  test('an idempotent read is retried on UNAVAILABLE and succeeds', async () => {
    const cb = server.seedCodebase();
    server.failNext('getCodebase', status.UNAVAILABLE, status.UNAVAILABLE);
    const before = server.callsOf('getCodebase').length;
    const info = await client.getCodebase(cb.id);
    assert.equal(info.id, cb.id);
    assert.equal(server.callsOf('getCodebase').length - before, 3);
  });

  test('retries stop after maxAttempts with a ConnectionError', async () => {
    server.failNext('listCodebases', status.UNAVAILABLE, status.UNAVAILABLE, status.UNAVAILABLE);
    const before = server.callsOf('listCodebases').length;
    await assert.rejects(client.listCodebases(), ConnectionError);
    assert.equal(server.callsOf('listCodebases').length - before, 3);
  });

  test('exec, create and start are never retried', async () => {
    const cb = server.seedCodebase();
    server.failNext('createSandbox', status.UNAVAILABLE);
    await assert.rejects(client.createSandbox(cb.id), ConnectionError);
    assert.equal(server.callsOf('createSandbox').length, 1);

    const sb = await client.createSandbox(cb.id);
    server.failNext('startSandbox', status.UNAVAILABLE);
    await assert.rejects(client.startSandbox(sb.id), ConnectionError);
    assert.equal(server.callsOf('startSandbox').length, 1);

    await client.startSandbox(sb.id);
    server.failNext('exec', status.UNAVAILABLE);
    await assert.rejects(client.exec(sb.id, 'echo once'), ConnectionError);
    assert.equal(server.callsOf('exec').length, 1);
  });

  test('a download is retried when it fails before the first chunk', async () => {
    const cb = server.seedCodebase({ 'f.txt': 'content' });
    server.failNext('downloadFile', status.UNAVAILABLE);
    assert.equal((await client.readFile(cb.id, 'f.txt')).toString(), 'content');
  });

  test('a server that is not there gives a ConnectionError naming the endpoint', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'af-nothing-'));
    const endpoint = `unix:${join(dir, 'none.sock')}`;
    const lonely = new SandboxClient({ endpoint, retry: { maxAttempts: 2, initialBackoffMs: 1, maxBackoffMs: 1 } });
    try {
      await assert.rejects(lonely.getSandbox('sb_1'), (err: ConnectionError) => {
        assert.ok(err instanceof ConnectionError);
        assert.equal(err.endpoint, endpoint);
        assert.equal(err.code, status.UNAVAILABLE);
        assert.match(err.message, /cannot reach/);
        return true;
      });
    } finally {
      lonely.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('errors and metadata', () => {
  test('the token is sent as a bearer authorization header', async () => {
    await client.listSandboxes();
    assert.equal(server.callsOf('listSandboxes').at(-1)!.metadata.authorization, 'Bearer s3cret');
  });

  test('UNAUTHENTICATED and unmapped statuses keep the server message', async () => {
    server.failNext('listSandboxes', { code: status.UNAUTHENTICATED, details: 'bad token' });
    await assert.rejects(client.listSandboxes(), (err: UnauthenticatedError) => {
      assert.ok(err instanceof UnauthenticatedError);
      assert.equal(err.serverMessage, 'bad token');
      assert.equal(err.call, 'listSandboxes');
      return true;
    });
    server.failNext('listSandboxes', { code: status.INTERNAL, details: 'disk on fire' });
    await assert.rejects(client.listSandboxes(), (err: AgentFenseError) => {
      assert.equal(err.constructor, AgentFenseError);
      assert.equal(err.code, status.INTERNAL);
      assert.match(err.message, /^listSandboxes: internal: disk on fire$/);
      return true;
    });
  });

  test('NOT_FOUND names the resource of the call', async () => {
    await assert.rejects(client.createSandbox('cb_missing'), (err: CodebaseNotFoundError) => {
      assert.ok(err instanceof CodebaseNotFoundError);
      assert.equal(err.codebaseId, 'cb_missing');
      return true;
    });
    await assert.rejects(client.sessionExec('sess_missing', 'pwd'), (err: SessionNotFoundError) => {
      assert.ok(err instanceof SessionNotFoundError);
      assert.equal(err.sessionId, 'sess_missing');
      return true;
    });
    await assert.rejects(client.readFile('cb_missing', 'a.txt'), CodebaseNotFoundError);
  });

  test('bad ids, paths and rules are refused before sending', async () => {
    const calls = server.calls.length;
    await assert.rejects(client.getSandbox(''), InvalidConfigurationError);
    await assert.rejects(client.uploadFile('cb_1', '../escape', 'x'), InvalidConfigurationError);
    await assert.rejects(
      client.createSandbox('cb_1', { permissions: [{ pattern: '', permission: 'read' }] }),
      /rule #1 .*pattern must be a non-empty string/,
    );
    await assert.rejects(
      client.createSandbox('cb_1', {
        permissions: [
          { pattern: '/a', permission: 'read' },
          { pattern: '/b', permission: 'read', priority: 1.5 },
        ],
      }),
      /rule #2 \("\/b"\).*priority must be a 32-bit integer/,
    );
    await assert.rejects(client.createSandbox('cb_1', { runtime: 'docker' }), /needs an image/);
    assert.equal(server.calls.length, calls);
  });

  test('a closed client refuses calls', async () => {
    const c = new SandboxClient({ endpoint: server.endpoint });
    c.close();
    c.close();
    await assert.rejects(c.listCodebases(), /client is closed/);
  });

  test('the default deadline applies to control calls', async () => {
    const c = new SandboxClient({ endpoint: server.endpoint, deadlineMs: 1 });
    const cb = server.seedCodebase();
    const sb = await c.createSandbox(cb.id, { deadlineMs: 5_000 });
    await c.startSandbox(sb.id, { deadlineMs: 5_000 });
    // exec without timeout has no deadline, whatever the default is:
    assert.equal((await c.exec(sb.id, 'sleep 30')).exitCode, 0);
    c.close();
  });
});

describe('create and upload', () => {
  test('createSandbox sends every option on the wire', async () => {
    const cb = server.seedCodebase();
    const sb = await client.createSandbox(cb.id, {
      permissions: [{ pattern: '/secrets/', permission: 'none', type: 'directory', priority: 9 }],
      expiresInMs: 90_500,
      labels: { a: 'b' },
      runtime: 'docker',
      image: 'python:3.12',
      resources: { memoryBytes: 1 << 30, pidsLimit: 64 },
    });
    const fake = server.sandboxes.get(sb.id)!;
    assert.equal(fake.expiresInMs, 90_500);
    assert.deepEqual(fake.permissions, [{ pattern: '/secrets/', type: 2, permission: 1, priority: 9 }]);
    assert.equal(fake.runtime, 2);
    assert.deepEqual(fake.resources, { memoryBytes: 1 << 30, cpuQuota: 0, cpuShares: 0, pidsLimit: 64 });
    assert.equal(sb.runtime, 'docker');
    assert.equal(sb.image, 'python:3.12');
    assert.deepEqual(sb.resources, { memoryBytes: 1 << 30, pidsLimit: 64 });
    assert.equal(sb.expiresAt!.getTime() - sb.createdAt!.getTime(), 90_500);
    assert.deepEqual(sb.permissions, [{ pattern: '/secrets/', permission: 'none', type: 'directory', priority: 9 }]);
  });

  test('createSandbox puts the preset rules before the given ones; an unknown preset is refused locally', async () => {
    const cb = server.seedCodebase();
    const sb = await client.createSandbox(cb.id, {
      preset: 'read-only',
      permissions: [{ pattern: '/out/**', permission: 'write' }],
    });
    assert.deepEqual(
      sb.permissions.map((r) => [r.pattern, r.permission]),
      [...getPreset('read-only').map((r) => [r.pattern, r.permission]), ['/out/**', 'write']],
    );
    assert.deepEqual(sb.permissions[0], { pattern: '**/*', permission: 'read', type: 'glob', priority: 0 });
    const calls = server.calls.length;
    await assert.rejects(
      client.createSandbox(cb.id, { preset: 'yolo' }),
      (err: Error) => err instanceof InvalidConfigurationError && /unknown preset "yolo"/.test(err.message),
    );
    assert.equal(server.calls.length, calls);
  });

  test('uploads from a string, a Buffer, an async iterable and a Readable', async () => {
    const cb = server.seedCodebase();
    await client.uploadFile(cb.id, 'a.txt', 'text');
    await client.uploadFile(cb.id, 'b.bin', Buffer.from([1, 2, 3]));
    async function* gen() {
      yield Buffer.alloc(100_000, 1);
      yield Buffer.alloc(50_000, 2);
    }
    const r = await client.uploadFile(cb.id, 'dir/c.bin', gen(), { size: 150_000 });
    assert.equal(r.size, 150_000);
    assert.match(r.checksum, /^[0-9a-f]{64}$/);
    assert.deepEqual(server.uploads.at(-1)!.chunkSizes, [65536, 34464, 50000]);
    await client.uploadFile(cb.id, 'd.txt', Readable.from([Buffer.from('str'), Buffer.from('eam')]), { size: 6 });
    const files = server.codebases.get(cb.id)!.files;
    assert.equal(files.get('a.txt')!.toString(), 'text');
    assert.deepEqual([...files.get('b.bin')!], [1, 2, 3]);
    assert.equal(files.get('d.txt')!.toString(), 'stream');
  });

  test('a stream needs its size, and must match it', async () => {
    const cb = server.seedCodebase();
    await assert.rejects(client.uploadFile(cb.id, 'x', Readable.from([Buffer.from('abc')])), /needs its size/);
    await assert.rejects(
      client.uploadFile(cb.id, 'x', Readable.from([Buffer.from('abcd')]), { size: 3 }),
      (err: UploadError) => {
        assert.ok(err instanceof UploadError);
        assert.equal(err.filePath, 'x');
        assert.match(err.message, /more than 3 bytes/);
        return true;
      },
    );
    await assert.rejects(
      client.uploadFile(cb.id, 'x', Readable.from([Buffer.from('ab')]), { size: 3 }),
      /content has 2 bytes, but 3 were declared/,
    );
    assert.ok(!server.codebases.get(cb.id)!.files.has('x'));
  });

  test('against a server without UploadBatch (like AgentFense’s own) uploadFiles sends one UploadFiles call per file', async () => {
    assert.equal(await client.supportsBatchUpload(), false);
    const cb = server.seedCodebase();
    const dir = await mkdtemp(join(tmpdir(), 'af-per-file-'));
    try {
      await writeFile(join(dir, 'one.txt'), 'one');
      await writeFile(join(dir, 'two.txt'), 'two');
      const before = server.uploads.length;
      const results = await uploadFiles(client, cb.id, await walkWorkspace(dir));
      assert.deepEqual(
        results.map((r) => r.filePath),
        ['one.txt', 'two.txt'],
      );
      assert.deepEqual(
        server.uploads
          .slice(before)
          .map((u) => u.filePath)
          .sort(),
        ['one.txt', 'two.txt'],
      );
      assert.equal(server.codebases.get(cb.id)!.files.get('two.txt')!.toString(), 'two');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('uploading to a missing codebase is a CodebaseNotFoundError', async () => {
    await assert.rejects(client.uploadFile('cb_gone', 'a.txt', Buffer.alloc(300_000)), CodebaseNotFoundError);
  });
});
