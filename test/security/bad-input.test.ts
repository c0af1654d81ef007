/**
 * Bad input over gRPC: every malformed request gets the exact status code and a message a
 * person can act on (it names the field), the server keeps serving, and nothing stored is
 * lost or changed.
 *
 *   node --import tsx --test test/security/bad-input.test.ts
 */
import { after, afterEach, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { BinaryWriter } from '@bufbuild/protobuf/wire';
import { agentSafeRules, codeName, expectRpcError, sha256, startServer, type ServerHandle } from './lib/harness';
import { execRequestBytes, INVALID_UTF8, pb, RawClient, uploadDataBytes, uploadMetaBytes } from './lib/raw';
import { PatternType, Permission } from '../../src/generated/common';

let srv: ServerHandle;
let raw: RawClient;
let codebaseId: string;
let sandboxId: string;
const original: Record<string, Buffer> = {
  'README.md': Buffer.from('# intact\n'),
  'src/app.py': Buffer.from('print(1)\n'),
  'big.bin': Buffer.alloc(300 * 1024, 7),
};
let cases = 0;

/** Problems found in the current test; reported together by afterEach so one run shows all. */
let problems: string[] = [];

/** Checks code and a readable message naming the field; records a problem instead of throwing. */
function expectStatus(err: ServiceError, code: status, field: RegExp | null, what: string): void {
  cases++;
  if (err.code !== code) {
    problems.push(`${what}: expected ${codeName(code)}, got ${codeName(err.code)} "${err.details}"`);
    return;
  }
  if (!err.details || err.details.trim().length < 8) problems.push(`${what}: empty or terse message "${err.details}"`);
  else if (/\bundefined\b|\[object Object\]|^Error: /.test(err.details))
    problems.push(`${what}: message is not human-readable: "${err.details}"`);
  else if (field && !field.test(err.details))
    problems.push(`${what}: message should name the field (${field}): "${err.details}"`);
}

async function expectCode(
  p: Promise<unknown>,
  code: status,
  field: RegExp | null,
  what: string,
): Promise<ServiceError | undefined> {
  try {
    const v = await p;
    cases++;
    problems.push(`${what}: expected ${codeName(code)}, the call succeeded: ${JSON.stringify(v)?.slice(0, 160)}`);
    return undefined;
  } catch (e) {
    expectStatus(e as ServiceError, code, field, what);
    return e as ServiceError;
  }
}

before(async () => {
  srv = await startServer();
  raw = new RawClient(srv.address, () => srv.md());
  codebaseId = (await srv.createCodebase('bad-input')).id;
  for (const [p, c] of Object.entries(original)) await srv.upload(codebaseId, p, c);
  sandboxId = (await srv.createSandbox(codebaseId, agentSafeRules())).id;
});

afterEach(async () => {
  const found = problems;
  problems = [];
  assert.deepEqual(found, [], `${found.length} bad-input case(s) answered wrongly:\n  ${found.join('\n  ')}`);
  assert.ok(srv.alive(), `server died:\n${srv.log.slice(-3000)}`);
  assert.ok(await srv.healthy(), 'the server still answers a normal call');
});

after(async () => {
  console.log(`bad-input cases checked: ${cases}`);
  raw?.close();
  await srv?.stop();
});

/** Nothing stored was lost: every original file is byte-identical. */
async function intact(): Promise<void> {
  for (const [p, c] of Object.entries(original)) {
    const got = await srv.download(codebaseId, p);
    assert.equal(sha256(got), sha256(c), `${p} changed`);
  }
}

describe('ids', () => {
  const unaryIdCalls: [string, 'codebase' | 'sandbox', string, (id: string) => unknown, RegExp][] = [
    ['GetCodebase', 'codebase', 'getCodebase', (id) => ({ codebaseId: id }), /codebase/i],
    ['DeleteCodebase', 'codebase', 'deleteCodebase', (id) => ({ codebaseId: id }), /codebase/i],
    ['ListFiles', 'codebase', 'listFiles', (id) => ({ codebaseId: id, path: '', recursive: true }), /codebase/i],
    [
      'CreateSandbox',
      'sandbox',
      'createSandbox',
      (id) => ({ codebaseId: id, permissions: agentSafeRules(), labels: {}, runtime: 1, image: '' }),
      /codebase/i,
    ],
    ['GetSandbox', 'sandbox', 'getSandbox', (id) => ({ sandboxId: id }), /sandbox/i],
    ['StartSandbox', 'sandbox', 'startSandbox', (id) => ({ sandboxId: id }), /sandbox/i],
    ['StopSandbox', 'sandbox', 'stopSandbox', (id) => ({ sandboxId: id }), /sandbox/i],
    ['DestroySandbox', 'sandbox', 'destroySandbox', (id) => ({ sandboxId: id }), /sandbox/i],
    [
      'Exec',
      'sandbox',
      'exec',
      (id) => ({ sandboxId: id, command: 'true', stdin: '', env: {}, workdir: '' }),
      /sandbox/i,
    ],
    ['CreateSession', 'sandbox', 'createSession', (id) => ({ sandboxId: id, shell: '', env: {} }), /sandbox/i],
    ['GetSession', 'sandbox', 'getSession', (id) => ({ sessionId: id }), /session/i],
    ['DestroySession', 'sandbox', 'destroySession', (id) => ({ sessionId: id }), /session/i],
    ['SessionExec', 'sandbox', 'sessionExec', (id) => ({ sessionId: id, command: 'true' }), /session/i],
  ];

  it('empty ids are INVALID_ARGUMENT naming the id field', async () => {
    for (const [name, svc, method, req, field] of unaryIdCalls) {
      await expectCode(srv.unary(svc, method, req('')), status.INVALID_ARGUMENT, field, `${name} with an empty id`);
    }
    await expectCode(
      srv.download('', 'README.md'),
      status.INVALID_ARGUMENT,
      /codebase/i,
      'DownloadFile with an empty id',
    );
    await expectCode(
      srv.upload('', 'a.txt', 'x'),
      status.INVALID_ARGUMENT,
      /codebase/i,
      'UploadFiles with an empty id',
    );
  });

  it('unknown ids are NOT_FOUND naming what was not found', async () => {
    for (const [name, svc, method, req, field] of unaryIdCalls) {
      await expectCode(
        srv.unary(svc, method, req('does-not-exist-42')),
        status.NOT_FOUND,
        field,
        `${name} with an unknown id`,
      );
    }
    await expectCode(
      srv.download('does-not-exist-42', 'README.md'),
      status.NOT_FOUND,
      /codebase/i,
      'DownloadFile with an unknown id',
    );
    await expectCode(
      srv.upload('does-not-exist-42', 'a.txt', 'x'),
      status.NOT_FOUND,
      /codebase/i,
      'UploadFiles with an unknown id',
    );
  });

  it('ids that look like paths never reach the file system (traversal through an id)', async () => {
    // A sentinel next to the data dir: an id used as a path component would reach it.
    const sentinelDir = join(srv.workDir, 'sentinel');
    mkdirSync(join(sentinelDir, 'files'), { recursive: true });
    writeFileSync(join(sentinelDir, 'manifest'), 'do not delete\n');
    const ids = [
      '../sentinel',
      '../../',
      '..',
      '.',
      '/',
      `${'a'.repeat(5000)}`,
      'x\0y',
      '../' + codebaseId,
      `${codebaseId}/..`,
    ];
    for (const id of ids) {
      for (const [name, svc, method, req] of unaryIdCalls) {
        const e = await expectRpcError(srv.unary(svc, method, req(id)));
        cases++;
        if (e.code !== status.NOT_FOUND && e.code !== status.INVALID_ARGUMENT) {
          problems.push(
            `${name}(${JSON.stringify(id.slice(0, 20))}): expected NOT_FOUND or INVALID_ARGUMENT, got ${codeName(e.code)} "${e.details}"`,
          );
        }
      }
    }
    assert.ok(existsSync(join(sentinelDir, 'manifest')), 'the sentinel next to the data dir survived');
    await intact();
  });
});

describe('paths', () => {
  const badPaths: [string, string][] = [
    ['../escape.txt', 'parent segment'],
    ['src/../../escape.txt', 'parent segment in the middle'],
    ['/etc/passwd', 'absolute path'],
    ['/workspace/../etc/x', 'absolute path through /workspace'],
    ['a\0b.txt', 'NUL byte'],
    ['x/'.repeat(2100) + 'f', 'very long path (> 4096 bytes)'],
    ['n'.repeat(300), 'a name longer than 255 bytes'],
    ['', 'empty path'],
    ['.', 'the root itself'],
    ['a//b', 'empty segment'],
    ['a\\..\\b', 'backslashes'],
  ];

  it('UploadFiles rejects bad file paths with INVALID_ARGUMENT naming file_path', async () => {
    for (const [p, why] of badPaths) {
      await expectCode(srv.upload(codebaseId, p, 'evil'), status.INVALID_ARGUMENT, /path/i, `upload ${why}`);
    }
    assert.ok(
      !existsSync(join(srv.dataDir, '..', 'escape.txt')) && !existsSync(join(srv.workDir, 'escape.txt')),
      'nothing written outside',
    );
    await intact();
  });

  it('DownloadFile and ListFiles reject bad paths with INVALID_ARGUMENT', async () => {
    for (const [p, why] of badPaths) {
      if (p === '' || p === '.') continue; // the root is a valid directory for ListFiles
      await expectCode(srv.download(codebaseId, p), status.INVALID_ARGUMENT, /path/i, `download ${why}`);
      await expectCode(srv.listFiles(codebaseId, p, true), status.INVALID_ARGUMENT, /path/i, `list ${why}`);
    }
    await expectCode(
      srv.download(codebaseId, 'no/such/file.txt'),
      status.NOT_FOUND,
      /no\/such\/file\.txt|file/i,
      'download of a missing file',
    );
  });

  it('invalid UTF-8 in a file path is INVALID_ARGUMENT', async () => {
    const e = await expectRpcError(
      raw.clientStream('/sandbox.v1.CodebaseService/UploadFiles', [
        uploadMetaBytes(codebaseId, INVALID_UTF8, 2),
        uploadDataBytes(Buffer.from('hi')),
      ]),
    );
    expectStatus(e, status.INVALID_ARGUMENT, /path|utf-?8/i, 'upload with an invalid UTF-8 path');
    const names = (await srv.listFiles(codebaseId, '', true)).map((f) => f.path);
    assert.ok(
      !names.some((n) => n.includes('\ufffd')),
      `no file with a replacement character was stored: ${names.join(', ')}`,
    );
  });
});

describe('upload streams', () => {
  const U = '/sandbox.v1.CodebaseService/UploadFiles';

  it('a stream without its metadata chunk, with it repeated, or empty is INVALID_ARGUMENT', async () => {
    await expectCode(
      raw.clientStream(U, [uploadDataBytes(Buffer.from('data first'))]),
      status.INVALID_ARGUMENT,
      /metadata/i,
      'data before metadata',
    );
    await expectCode(
      raw.clientStream(U, [
        uploadMetaBytes(codebaseId, 'README.md', 4),
        uploadMetaBytes(codebaseId, 'src/app.py', 4),
        uploadDataBytes(Buffer.from('evil')),
      ]),
      status.INVALID_ARGUMENT,
      /metadata/i,
      'metadata repeated',
    );
    await expectCode(
      raw.clientStream(U, [
        uploadMetaBytes(codebaseId, 'README.md', 4),
        uploadDataBytes(Buffer.from('ev')),
        uploadMetaBytes(codebaseId, 'README.md', 4),
      ]),
      status.INVALID_ARGUMENT,
      /metadata/i,
      'metadata repeated after data',
    );
    await expectCode(raw.clientStream(U, []), status.INVALID_ARGUMENT, /metadata|empty|no /i, 'empty stream');
    // A chunk with both oneof members set (bytes hand-built): the later one wins per proto rules;
    // whatever the server decides, it must not store a half file.
    await raw
      .clientStream(U, [
        Buffer.concat([uploadDataBytes(Buffer.from('zz')), uploadMetaBytes(codebaseId, 'both.txt', 0)]),
      ])
      .catch(() => undefined);
    await intact();
  });

  it('total_size lies in both directions: INVALID_ARGUMENT, old content kept', async () => {
    await expectCode(
      srv.upload(codebaseId, 'README.md', 'short', { totalSize: 1000 }),
      status.INVALID_ARGUMENT,
      /total_size|size/i,
      'total_size larger than sent',
    );
    await expectCode(
      srv.upload(codebaseId, 'README.md', 'x'.repeat(200 * 1024), { totalSize: 10 }),
      status.INVALID_ARGUMENT,
      /total_size|size/i,
      'total_size smaller than sent',
    );
    await expectCode(
      srv.upload(codebaseId, 'README.md', 'neg', { totalSize: -5 }),
      status.INVALID_ARGUMENT,
      /total_size|size/i,
      'negative total_size',
    );
    await intact();
  });

  it('a stream cut midway leaves the old content intact', async () => {
    const meta = uploadMetaBytes(codebaseId, 'big.bin', 1024 * 1024);
    const chunks = [meta, ...Array.from({ length: 16 }, () => uploadDataBytes(Buffer.alloc(64 * 1024, 0x41)))];
    const e = await expectRpcError(raw.clientStream(U, chunks, { cancelAfter: 5 }));
    assert.equal(e.code, status.CANCELLED, `cut stream: ${codeName(e.code)} ${e.details}`);
    // Also a deadline expiring mid-stream.
    const e2 = await expectRpcError(
      new Promise((resolve, reject) => {
        const call = srv.codebase.uploadFiles(srv.md(), { deadline: Date.now() + 400 }, (err, res) =>
          err ? reject(err) : resolve(res),
        );
        call.write({ metadata: { codebaseId, filePath: 'big.bin', totalSize: 1024 * 1024 } });
        call.write({ data: Buffer.alloc(64 * 1024, 0x42) });
      }),
    );
    assert.equal(e2.code, status.DEADLINE_EXCEEDED);
    await new Promise((r) => setTimeout(r, 300));
    await intact();
  });

  it('the same path uploaded concurrently gives one consistent result', async () => {
    const versions = Array.from({ length: 8 }, (_, i) => Buffer.alloc(256 * 1024 + i * 1000, 0x61 + i));
    const results = await Promise.allSettled(
      versions.map((v) => srv.upload(codebaseId, 'dup.bin', v, { chunkSize: 16 * 1024 })),
    );
    for (const r of results) {
      if (r.status === 'rejected')
        expectStatus(r.reason, status.ABORTED, /dup\.bin|path|concurrent/i, 'concurrent upload that lost');
    }
    const ok = results
      .filter((r) => r.status === 'fulfilled')
      .map((r) => (r as PromiseFulfilledResult<{ checksum: string }>).value);
    assert.ok(ok.length >= 1, 'at least one upload succeeded');
    for (const [i, r] of results.entries()) {
      if (r.status === 'fulfilled')
        assert.equal(r.value.checksum, sha256(versions[i]!), `upload ${i} reports its own checksum`);
    }
    const got = await srv.download(codebaseId, 'dup.bin');
    const digest = sha256(got);
    assert.ok(
      versions.some((v) => sha256(v) === digest),
      `the stored dup.bin (${got.length} bytes) is exactly one of the uploaded versions, not a mix`,
    );
    assert.ok(
      ok.some((r) => r.checksum === digest),
      'the stored version is one whose upload succeeded',
    );
    const listed = (await srv.listFiles(codebaseId, '', true)).filter((f) => f.path === 'dup.bin');
    assert.equal(listed.length, 1, 'listed once');
    assert.equal(listed[0]!.size, got.length, 'listed size matches the content');
    cases++;
  });
});

describe('sandbox requests', () => {
  const rule = (pattern: string, permission: number, type = PatternType.PATTERN_TYPE_GLOB, priority = 0) => ({
    pattern,
    type,
    permission,
    priority,
  });
  const create = (permissions: unknown[], resources?: Record<string, number>, extra: Record<string, unknown> = {}) =>
    srv.unary('sandbox', 'createSandbox', {
      codebaseId,
      permissions,
      labels: {},
      runtime: 1,
      image: '',
      resources: resources ? { memoryBytes: 0, cpuQuota: 0, cpuShares: 0, pidsLimit: 0, ...resources } : undefined,
      ...extra,
    });

  it('rules with unknown levels, unknown types or empty patterns are INVALID_ARGUMENT', async () => {
    await expectCode(create([rule('**/*', 99)]), status.INVALID_ARGUMENT, /permission/i, 'unknown permission level');
    await expectCode(
      create([rule('**/*', Permission.PERMISSION_UNSPECIFIED)]),
      status.INVALID_ARGUMENT,
      /permission/i,
      'unspecified permission level',
    );
    await expectCode(
      create([rule('', Permission.PERMISSION_READ)]),
      status.INVALID_ARGUMENT,
      /pattern/i,
      'empty pattern',
    );
    await expectCode(
      create([rule('   ', Permission.PERMISSION_READ)]),
      status.INVALID_ARGUMENT,
      /pattern/i,
      'blank pattern',
    );
    await expectCode(
      create([rule('**/*', Permission.PERMISSION_READ, 42 as PatternType)]),
      status.INVALID_ARGUMENT,
      /type/i,
      'unknown pattern type',
    );
    await expectCode(
      create([rule('a\0b', Permission.PERMISSION_READ)]),
      status.INVALID_ARGUMENT,
      /pattern|NUL/i,
      'NUL in a pattern',
    );
  });

  it('negative or huge limits and durations are INVALID_ARGUMENT naming the field', async () => {
    await expectCode(
      create(agentSafeRules(), { memoryBytes: -1 }),
      status.INVALID_ARGUMENT,
      /memory_bytes/,
      'negative memory',
    );
    await expectCode(
      create(agentSafeRules(), { memoryBytes: 2 ** 60 }),
      status.INVALID_ARGUMENT,
      /memory_bytes/,
      'huge memory',
    );
    await expectCode(
      create(agentSafeRules(), { pidsLimit: -3 }),
      status.INVALID_ARGUMENT,
      /pids_limit/,
      'negative pids',
    );
    await expectCode(
      create(agentSafeRules(), { pidsLimit: 2 ** 40 }),
      status.INVALID_ARGUMENT,
      /pids_limit/,
      'huge pids',
    );
    await expectCode(
      create(agentSafeRules(), { cpuQuota: -100 }),
      status.INVALID_ARGUMENT,
      /cpu_quota/,
      'negative cpu quota',
    );
    await expectCode(
      create(agentSafeRules(), { cpuQuota: 2 ** 52 }),
      status.INVALID_ARGUMENT,
      /cpu_quota/,
      'huge cpu quota',
    );
    await expectCode(
      create(agentSafeRules(), { cpuShares: -1 }),
      status.INVALID_ARGUMENT,
      /cpu_shares/,
      'negative cpu shares',
    );
    await expectCode(
      create(agentSafeRules(), undefined, { expiresIn: { seconds: -60, nanos: 0 } }),
      status.INVALID_ARGUMENT,
      /expires_in/,
      'negative expires_in',
    );
    const execWith = (timeout: { seconds: number; nanos: number }) =>
      srv.unary('sandbox', 'exec', { sandboxId, command: 'echo ok', stdin: '', env: {}, workdir: '', timeout });
    await expectCode(execWith({ seconds: -1, nanos: 0 }), status.INVALID_ARGUMENT, /timeout/, 'negative timeout');
    await expectCode(execWith({ seconds: 0, nanos: -5 }), status.INVALID_ARGUMENT, /timeout/, 'negative nanos');
    // A huge timeout is "no practical limit": it must not turn into an immediate timeout
    // (setTimeout overflows above 2^31 ms) — either it runs, or it is refused by name.
    for (const seconds of [2 ** 31, 2 ** 40, 9_000_000_000_000]) {
      try {
        const r = await execWith({ seconds, nanos: 0 });
        assert.equal((r as { stdout: string }).stdout, 'ok\n', `huge timeout ${seconds}s runs the command`);
      } catch (e) {
        expectStatus(e as ServiceError, status.INVALID_ARGUMENT, /timeout/, `huge timeout ${seconds}s`);
      }
      cases++;
    }
  });

  it('a workdir outside /workspace is INVALID_ARGUMENT naming workdir', async () => {
    for (const wd of ['/etc', '/', '..', '../..', '/workspace/../etc', '/workspacex', '/tmp', 'a\0b']) {
      await expectCode(
        srv.unary('sandbox', 'exec', { sandboxId, command: 'pwd', stdin: '', env: {}, workdir: wd }),
        status.INVALID_ARGUMENT,
        /workdir/,
        `workdir ${JSON.stringify(wd)}`,
      );
    }
    const inside = await srv.exec(sandboxId, 'pwd', { workdir: 'src' });
    assert.equal(inside.stdout, '/workspace/src\n');
  });

  it('a missing or whitespace command is INVALID_ARGUMENT naming command', async () => {
    for (const c of ['', '   ']) {
      await expectCode(
        srv.unary('sandbox', 'exec', { sandboxId, command: c, stdin: '', env: {}, workdir: '' }),
        status.INVALID_ARGUMENT,
        /command/,
        `command ${JSON.stringify(c)}`,
      );
    }
  });

  it('a 10 MB command gets a clear refusal; a 200 KB one runs or is refused by name', async () => {
    const big = 'echo ' + 'a'.repeat(10 * 1024 * 1024);
    // Refused by name (INVALID_ARGUMENT "command …"), or by the transport's size cap
    // (RESOURCE_EXHAUSTED "message larger than max"); never INTERNAL.
    const e = await expectRpcError(srv.exec(sandboxId, big));
    if (e.code === status.RESOURCE_EXHAUSTED)
      expectStatus(e, status.RESOURCE_EXHAUSTED, /larger|size|max|command/i, '10 MB command');
    else expectStatus(e, status.INVALID_ARGUMENT, /command/, '10 MB command');
    const medium = ': ' + 'b'.repeat(200 * 1024) + '; echo medium-ok';
    try {
      const r = await srv.exec(sandboxId, medium);
      assert.equal(r.stdout, 'medium-ok\n', '200 KB command runs');
    } catch (err) {
      expectStatus(err as ServiceError, status.INVALID_ARGUMENT, /command/, '200 KB command');
    }
    cases++;
  });

  it('invalid UTF-8 in a command, an env value or an env name is INVALID_ARGUMENT', async () => {
    const E = '/sandbox.v1.SandboxService/Exec';
    await expectCode(
      raw.unary(E, execRequestBytes({ sandboxId, command: INVALID_UTF8 })),
      status.INVALID_ARGUMENT,
      /command|utf-?8/i,
      'invalid UTF-8 command',
    );
    await expectCode(
      raw.unary(E, execRequestBytes({ sandboxId, command: 'echo "$K"', env: [['K', INVALID_UTF8]] })),
      status.INVALID_ARGUMENT,
      /env|utf-?8/i,
      'invalid UTF-8 env value',
    );
    await expectCode(
      raw.unary(E, execRequestBytes({ sandboxId, command: 'env', env: [[INVALID_UTF8, 'v']] })),
      status.INVALID_ARGUMENT,
      /env|utf-?8/i,
      'invalid UTF-8 env name',
    );
    await expectCode(
      raw.unary(E, execRequestBytes({ sandboxId, command: 'env', env: [['BAD=NAME', 'v']] })),
      status.INVALID_ARGUMENT,
      /env|variable/i,
      'env name with =',
    );
    await expectCode(
      raw.unary(E, execRequestBytes({ sandboxId, command: 'env', env: [['K', 'a\0b']] })),
      status.INVALID_ARGUMENT,
      /env|K|NUL/i,
      'env value with NUL',
    );
    await expectCode(
      raw.unary(E, execRequestBytes({ sandboxId, command: 'echo a\0b' })),
      status.INVALID_ARGUMENT,
      /command|NUL/i,
      'NUL in a command',
    );
    // Garbage that is not a protobuf message at all.
    const g = await expectRpcError(raw.unary(E, Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f, 0x01])));
    cases++;
    assert.ok(
      g.code === status.INVALID_ARGUMENT || g.code === status.INTERNAL,
      `garbage request: ${codeName(g.code)} ${g.details}`,
    );
    assert.ok(g.details?.length >= 8);
    // Session commands too.
    const s = await srv.createSession(sandboxId);
    const w = new BinaryWriter();
    pb.str(w, 1, s.id);
    pb.str(w, 2, INVALID_UTF8);
    await expectCode(
      raw.unary('/sandbox.v1.SandboxService/SessionExec', w.finish()),
      status.INVALID_ARGUMENT,
      /command|utf-?8/i,
      'invalid UTF-8 session command',
    );
    await srv.destroySession(s.id);
  });

  it('requests on a stopped or destroyed sandbox and on a closed session', async () => {
    const sb = (await srv.createSandbox(codebaseId, agentSafeRules(), undefined, { start: false })).id;
    await expectCode(srv.exec(sb, 'true'), status.FAILED_PRECONDITION, /not running/, 'Exec on a pending sandbox');
    await srv.unary('sandbox', 'startSandbox', { sandboxId: sb });
    await expectCode(
      srv.unary('sandbox', 'startSandbox', { sandboxId: sb }),
      status.FAILED_PRECONDITION,
      /already running/,
      'Start twice',
    );
    const sess = await srv.createSession(sb);
    await srv.destroySession(sess.id);
    await expectCode(
      srv.sessionExec(sess.id, 'true'),
      status.FAILED_PRECONDITION,
      /session|closed/i,
      'SessionExec on a closed session',
    );
    const sess2 = await srv.createSession(sb);
    await srv.unary('sandbox', 'stopSandbox', { sandboxId: sb });
    await expectCode(srv.exec(sb, 'true'), status.FAILED_PRECONDITION, /not running/, 'Exec on a stopped sandbox');
    // Stopping a sandbox ends its sessions; the server may keep them as closed or forget them.
    const afterStop = await expectRpcError(srv.sessionExec(sess2.id, 'true'));
    if (afterStop.code === status.NOT_FOUND)
      expectStatus(afterStop, status.NOT_FOUND, /session/i, 'SessionExec after the sandbox stopped');
    else
      expectStatus(
        afterStop,
        status.FAILED_PRECONDITION,
        /session|closed|not running/i,
        'SessionExec after the sandbox stopped',
      );
    await expectCode(
      srv.createSession(sb),
      status.FAILED_PRECONDITION,
      /not running/,
      'CreateSession on a stopped sandbox',
    );
    await srv.destroySandbox(sb);
    await expectCode(srv.exec(sb, 'true'), status.NOT_FOUND, /sandbox/i, 'Exec on a destroyed sandbox');
    await expectCode(
      srv.unary('sandbox', 'startSandbox', { sandboxId: sb }),
      status.NOT_FOUND,
      /sandbox/i,
      'Start a destroyed sandbox',
    );
    await expectCode(srv.createSession(sb), status.NOT_FOUND, /sandbox/i, 'CreateSession on a destroyed sandbox');
    await expectCode(
      srv.sessionExec(sess2.id, 'true'),
      status.NOT_FOUND,
      /session/i,
      "SessionExec on a destroyed sandbox's session",
    );
    await expectCode(srv.destroySandbox(sb), status.NOT_FOUND, /sandbox/i, 'Destroy twice');
    const streamed = await srv.execStream(sb, 'true');
    assert.ok(streamed.error, 'ExecStream on a destroyed sandbox fails');
    expectStatus(streamed.error!, status.NOT_FOUND, /sandbox/i, 'ExecStream on a destroyed sandbox');
  });
});

describe('authentication on TCP', () => {
  let tcp: ServerHandle;
  before(async () => {
    tcp = await startServer({ tcp: true });
  });
  after(async () => {
    await tcp?.stop();
  });

  it('calls without the token, with a wrong one or a malformed header are UNAUTHENTICATED', async () => {
    const none = new Metadata();
    const wrong = new Metadata();
    wrong.set('authorization', `Bearer ${'0'.repeat(48)}`);
    const basic = new Metadata();
    basic.set('authorization', `Basic ${tcp.token}`);
    const bare = new Metadata();
    bare.set('authorization', tcp.token!);
    for (const [md, what] of [
      [none, 'no token'],
      [wrong, 'wrong token'],
      [basic, 'Basic scheme'],
      [bare, 'token without scheme'],
    ] as const) {
      await expectCode(
        tcp.unary('codebase', 'listCodebases', { ownerId: '', pageSize: 1, pageToken: '' }, { metadata: md }),
        status.UNAUTHENTICATED,
        /token/i,
        `ListCodebases with ${what}`,
      );
      await expectCode(
        tcp.unary('codebase', 'createCodebase', { name: 'x', ownerId: '' }, { metadata: md }),
        status.UNAUTHENTICATED,
        /token/i,
        `CreateCodebase with ${what}`,
      );
      await expectCode(
        tcp.unary(
          'sandbox',
          'exec',
          { sandboxId: 'x', command: 'id', stdin: '', env: {}, workdir: '' },
          { metadata: md },
        ),
        status.UNAUTHENTICATED,
        /token/i,
        `Exec with ${what}`,
      );
    }
    // Streams: an upload without the token stores nothing.
    const cb = await tcp.createCodebase('auth');
    const e = await expectRpcError(
      new Promise((resolve, reject) => {
        const call = tcp.codebase.uploadFiles(none, (err, res) => (err ? reject(err) : resolve(res)));
        call.write({ metadata: { codebaseId: cb.id, filePath: 'sneaky.txt', totalSize: 3 } });
        call.write({ data: Buffer.from('abc') });
        call.end();
      }),
    );
    expectStatus(e, status.UNAUTHENTICATED, /token/i, 'UploadFiles without a token');
    assert.deepEqual(
      (await tcp.listFiles(cb.id)).map((f) => f.path),
      [],
      'nothing was stored',
    );
    const list = await tcp.unary('codebase', 'listCodebases', { ownerId: '', pageSize: 10, pageToken: '' });
    assert.ok(Array.isArray((list as { codebases: unknown[] }).codebases), 'with the token the call works');
  });
});

describe('after all of it', () => {
  it('every stored file is intact and a normal exec works', async () => {
    await intact();
    const r = await srv.exec(sandboxId, 'cat README.md');
    assert.equal(r.stdout, original['README.md']!.toString());
  });
});
