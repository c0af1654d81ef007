/** Sandbox lifecycle, listing, runtimes, expiry, in-use codebases and resource limits. */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { status, type ServiceError } from '@grpc/grpc-js';
import type { CreateSandboxRequest, ListSandboxesResponse, Sandbox } from '../../src/generated/sandbox';
import { SandboxStatus } from '../../src/generated/common';
import { getPreset } from '../../src/shared/presets';
import { nonRootOnly, rootOnly } from '../helpers/privileges';
import { call, createSandboxRequest, startServer, wireRules, type TestServer } from '../helpers/server';
import { settle } from '../helpers/waitFor';

let server: TestServer;
let codebaseId: string;
const READ = wireRules(getPreset('read-only'));
const isCode = (code: status, details?: RegExp) => (e: ServiceError) =>
  e.code === code && (!details || details.test(e.details));

before(async () => {
  server = await startServer();
  codebaseId = await server.createCodebase({ 'a.txt': 'a\n' });
});
after(async () => {
  await server.stop();
});

const create = (extra: Partial<CreateSandboxRequest> = {}) =>
  call<Sandbox>(server.sandboxes, server.sandboxes.createSandbox, createSandboxRequest(codebaseId, READ, extra));
const get = (sandboxId: string) => call<Sandbox>(server.sandboxes, server.sandboxes.getSandbox, { sandboxId });
const start = (sandboxId: string) => call<Sandbox>(server.sandboxes, server.sandboxes.startSandbox, { sandboxId });
const stop = (sandboxId: string) => call<Sandbox>(server.sandboxes, server.sandboxes.stopSandbox, { sandboxId });
const destroy = (sandboxId: string) => call(server.sandboxes, server.sandboxes.destroySandbox, { sandboxId });
const limits = (l: Partial<{ memoryBytes: number; cpuQuota: number; cpuShares: number; pidsLimit: number }>) => ({
  resources: { memoryBytes: 0, cpuQuota: 0, cpuShares: 0, pidsLimit: 0, ...l },
});

describe('lifecycle', () => {
  it('PENDING → RUNNING → STOPPED → RUNNING → destroyed, with labels and rules kept', async () => {
    const sb = await create({ labels: { team: 'a' } });
    assert.match(sb.id, /^sb_[0-9a-f]{16}$/);
    assert.equal(sb.status, SandboxStatus.SANDBOX_STATUS_PENDING);
    assert.deepEqual(sb.labels, { team: 'a' });
    assert.equal(sb.permissions[0].pattern, '**/*');
    const running = await start(sb.id);
    assert.equal(running.status, SandboxStatus.SANDBOX_STATUS_RUNNING);
    assert.ok(running.startedAt);
    await assert.rejects(start(sb.id), isCode(status.FAILED_PRECONDITION, /already running/));
    const stopped = await stop(sb.id);
    assert.equal(stopped.status, SandboxStatus.SANDBOX_STATUS_STOPPED);
    await assert.rejects(server.exec(sb.id, 'true'), isCode(status.FAILED_PRECONDITION, /is not running/));
    await assert.rejects(stop(sb.id), isCode(status.FAILED_PRECONDITION, /is not running/));
    await start(sb.id);
    assert.equal((await server.exec(sb.id, 'cat a.txt')).stdout, 'a\n');
    await destroy(sb.id);
    await assert.rejects(get(sb.id), isCode(status.NOT_FOUND));
    assert.equal(fs.existsSync(`${server.dataDir}/sandboxes/${sb.id}`), false);
  });

  it('lists by codebase, page by page', async () => {
    const other = await server.createCodebase({ 'b.txt': 'b\n' });
    const ids = [];
    for (let i = 0; i < 5; i++) ids.push((await create({ codebaseId: other })).id);
    const seen: string[] = [];
    let pageToken = '';
    do {
      const page = await call<ListSandboxesResponse>(server.sandboxes, server.sandboxes.listSandboxes, {
        codebaseId: other,
        pageSize: 2,
        pageToken,
      });
      assert.ok(page.sandboxes.length <= 2);
      seen.push(...page.sandboxes.map((s) => s.id));
      pageToken = page.nextPageToken;
    } while (pageToken);
    assert.deepEqual(seen.sort(), ids.sort());
  });

  it('paging goes on where it was when the sandbox its token names is destroyed meanwhile', async () => {
    const cb = await server.createCodebase({ 'c.txt': 'c\n' });
    const ids: string[] = [];
    for (let i = 0; i < 12; i++) ids.push((await create({ codebaseId: cb })).id);
    const list = (pageToken: string) =>
      call<ListSandboxesResponse>(server.sandboxes, server.sandboxes.listSandboxes, {
        codebaseId: cb,
        pageSize: 3,
        pageToken,
      });
    const seen: string[] = [];
    let page = await list('');
    for (;;) {
      seen.push(...page.sandboxes.map((s) => s.id));
      if (!page.nextPageToken) break;
      // The last sandbox of this page goes before the next page is asked for.
      await destroy(page.sandboxes[page.sandboxes.length - 1]!.id);
      page = await list(page.nextPageToken);
    }
    // Every sandbox exactly once (ids are random: resuming by id order repeats or skips some).
    assert.equal(new Set(seen).size, seen.length, `a sandbox listed twice: ${seen.join(' ')}`);
    assert.deepEqual([...seen].sort(), [...ids].sort());
  });

  it('a malformed page token or a negative page size is INVALID_ARGUMENT', async () => {
    const list = (req: { pageSize: number; pageToken: string }) =>
      call<ListSandboxesResponse>(server.sandboxes, server.sandboxes.listSandboxes, { codebaseId: '', ...req });
    await assert.rejects(
      list({ pageSize: 1, pageToken: 'not-a-token' }),
      isCode(status.INVALID_ARGUMENT, /page_token is malformed/),
    );
    await assert.rejects(
      list({ pageSize: -1, pageToken: '' }),
      isCode(status.INVALID_ARGUMENT, /page_size must be 0 or positive/),
    );
  });

  it('refuses a Docker sandbox without an image or an engine, images, unknown codebases and bad rules with the right codes', async () => {
    await assert.rejects(
      create({ runtime: 2 }),
      isCode(status.INVALID_ARGUMENT, /image is required for the Docker runtime/),
    );
    // No engine on this server's socket: said at create (sandbox-docker.test.ts points at a real one).
    await assert.rejects(
      create({ runtime: 2, image: 'python:3.12' }),
      isCode(status.FAILED_PRECONDITION, /Docker engine|not found locally and the registry is unreachable/),
    );
    await assert.rejects(create({ image: 'python:3.12' }), isCode(status.INVALID_ARGUMENT));
    await assert.rejects(
      create({ codebaseId: 'cb_missing' }),
      (e: ServiceError) => e.code === status.NOT_FOUND || e.code === status.INVALID_ARGUMENT,
    );
    await assert.rejects(create({ codebaseId: '' }), isCode(status.INVALID_ARGUMENT));
    await assert.rejects(
      create({ permissions: [{ pattern: '', type: 1, permission: 3, priority: 0 }] }),
      isCode(status.INVALID_ARGUMENT),
    );
  });

  it('destroys a sandbox when it expires', async () => {
    const sb = await create({ expiresIn: { seconds: 1, nanos: 0 } });
    await start(sb.id);
    assert.ok(sb.expiresAt);
    // Gone once it expires (a bound for a loaded machine, not a measurement).
    const gone = await settle(
      () =>
        get(sb.id).then(
          () => 'still there',
          (e: ServiceError) => e.code,
        ),
      (v) => v === status.NOT_FOUND,
    );
    assert.equal(gone, status.NOT_FOUND);
  });

  it('a codebase cannot be deleted while a running sandbox uses it', async () => {
    const cb = await server.createCodebase({ 'x.txt': 'x\n' });
    const sb = await create({ codebaseId: cb });
    await start(sb.id);
    await assert.rejects(
      call(server.codebases, server.codebases.deleteCodebase, { codebaseId: cb }),
      (e: ServiceError) => e.details.includes(sb.id),
    );
    await stop(sb.id);
    await call(server.codebases, server.codebases.deleteCodebase, { codebaseId: cb });
  });
});

describe('resource limits', () => {
  it('rejects negative and absurd values', async () => {
    await assert.rejects(create(limits({ memoryBytes: -1 })), isCode(status.INVALID_ARGUMENT, /memory_bytes/));
    await assert.rejects(create(limits({ memoryBytes: 1024 })), isCode(status.INVALID_ARGUMENT, /memory_bytes/));
    await assert.rejects(create(limits({ pidsLimit: -5 })), isCode(status.INVALID_ARGUMENT, /pids_limit/));
    await assert.rejects(create(limits({ cpuShares: 1 })), isCode(status.INVALID_ARGUMENT, /cpu_shares/));
  });

  it(
    'a 64 MiB memory limit stops a 512 MiB allocation',
    rootOnly('cgroup limits: a non-root server without a delegated cgroup refuses them (tested below)'),
    async () => {
      const sb = await create(limits({ memoryBytes: 64 << 20 }));
      await start(sb.id);
      const r = await server.exec(sb.id, 'python3 -c \'x=bytearray(512<<20); print("allocated")\'');
      assert.notEqual(r.exitCode, 0);
      assert.doesNotMatch(r.stdout, /allocated/);
      assert.equal((await server.exec(sb.id, 'echo still-works')).stdout, 'still-works\n');
      await destroy(sb.id);
    },
  );

  it(
    'a pids limit stops a fork loop',
    rootOnly('cgroup limits: a non-root server without a delegated cgroup refuses them (tested below)'),
    async () => {
      const sb = await create(limits({ pidsLimit: 20 }));
      await start(sb.id);
      const r = await server.exec(
        sb.id,
        'n=0; for i in $(seq 60); do sleep 5 & n=$((n+1)); done 2>/dev/null; jobs -p | wc -l; kill $(jobs -p) 2>/dev/null; true',
        { timeout: { seconds: 20, nanos: 0 } },
      );
      assert.ok(Number(r.stdout.trim()) < 20, `started ${r.stdout.trim()} processes`);
      await destroy(sb.id);
    },
  );

  it(
    'a non-root server refuses each limit it cannot enforce, naming it, instead of ignoring it',
    nonRootOnly('root servers enforce limits'),
    async () => {
      for (const [field, l] of [
        ['memory_bytes', { memoryBytes: 64 << 20 }],
        ['pids_limit', { pidsLimit: 20 }],
        ['cpu_quota', { cpuQuota: 50_000 }],
      ] as const) {
        await assert.rejects(
          create(limits(l)),
          isCode(status.FAILED_PRECONDITION, new RegExp(`${field}.*cannot be enforced`)),
          field,
        );
      }
    },
  );

  it(
    'applies cpu limits to the sandbox cgroup and removes the cgroups on destroy',
    rootOnly('cgroup limits: a non-root server without a delegated cgroup refuses them (tested below)'),
    async () => {
      const sb = await create(limits({ cpuQuota: 50_000, cpuShares: 512, memoryBytes: 128 << 20 }));
      await start(sb.id);
      const r = await server.exec(sb.id, 'cat /proc/self/cgroup');
      const cpuLine = r.stdout.split('\n').find((l) => /:cpu[,:]/.test(l) || /:cpu,cpuacct:/.test(l));
      assert.ok(cpuLine, r.stdout);
      const dirs = findCgroupDirs(sb.id);
      assert.ok(dirs.length >= 2, `cgroups for ${sb.id}: ${dirs}`);
      const cpuDir = dirs.find((d) => d.startsWith('/sys/fs/cgroup/cpu/'))!;
      assert.equal(fs.readFileSync(`${cpuDir}/cpu.cfs_quota_us`, 'utf8').trim(), '50000');
      assert.equal(fs.readFileSync(`${cpuDir}/cpu.shares`, 'utf8').trim(), '512');
      await destroy(sb.id);
      assert.deepEqual(findCgroupDirs(sb.id), []);
    },
  );
});

/** The sandbox's cgroup directories, found by name under the v1 controllers. */
function findCgroupDirs(id: string): string[] {
  const out: string[] = [];
  const walk = (dir: string, depth: number) => {
    if (depth > 6) return;
    let entries: fs.Dirent[] = [];
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      if (!e.isDirectory()) continue;
      if (e.name === id) out.push(`${dir}/${e.name}`);
      else walk(`${dir}/${e.name}`, depth + 1);
    }
  };
  for (const c of ['memory', 'pids', 'cpu']) walk(`/sys/fs/cgroup/${c}`, 0);
  return out;
}
