/**
 * Sandboxes that ask for no limits still get them (issue 18, W3): default pids, memory and
 * CPU limits where the host can enforce them (root: cgroups), a size-limited /dev/shm and, as
 * root, /tmp on the layer's size-limited tmpfs. A server that cannot enforce limits refuses
 * explicit ones with FAILED_PRECONDITION naming them, and says in its log that it does not
 * apply the defaults.
 *
 *   node --import tsx --test test/reliability/resource-defaults.test.ts
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { status, type ServiceError } from '@grpc/grpc-js';
import type { Sandbox } from '../../src/generated/sandbox';
import { call, rules, startServer } from '../helpers/server';

const isRoot = process.getuid?.() === 0;
const RULES = rules(['**/*', 'read'], ['/output/**', 'write', 10]);
const MiB = 1024 * 1024;

describe('default resource limits', () => {
  test('/dev/shm is size-limited (--shm-size) in every mode', async () => {
    const server = await startServer({ args: ['--shm-size', '16M'] });
    try {
      const cb = await server.createCodebase({ 'a.txt': 'a\n' });
      const sb = await server.startSandbox(cb, RULES);
      const r = await server.exec(
        sb,
        'head -c 33554432 /dev/zero > /dev/shm/fill; echo rc=$?; du -k /dev/shm/fill | cut -f1',
      );
      assert.match(r.stdout, /rc=1/, `writing 32 MiB into a 16 MiB /dev/shm must fail: ${r.stdout} ${r.stderr}`);
      const keptKiB = Number(r.stdout.trim().split('\n').pop());
      assert.ok(keptKiB <= 16 * 1024, `/dev/shm held ${keptKiB} KiB`);
    } finally {
      await server.stop();
    }
  });

  test(
    'as root, a sandbox that asks for nothing gets the default pids/memory/CPU limits, enforced',
    { skip: !isRoot && 'needs root: cgroups are not delegated to this user' },
    async () => {
      const server = await startServer({
        args: ['--default-pids', '64', '--default-memory', '256M', '--default-cpu-quota', '50000'],
      });
      try {
        const cb = await server.createCodebase({ 'a.txt': 'a\n' });
        const id = await server.startSandbox(cb, RULES);
        const sb = await call<Sandbox>(server.sandboxes, server.sandboxes.getSandbox, { sandboxId: id });
        assert.deepEqual(sb.resources, { memoryBytes: 256 * MiB, pidsLimit: 64, cpuQuota: 50_000, cpuShares: 0 });
        // 100 background sleeps cannot all start under a 64-process limit.
        const r = await server.exec(id, 'for i in $(seq 100); do sleep 30 & done; kill $(jobs -p); echo done', {
          timeout: { seconds: 60, nanos: 0 },
        });
        assert.match(
          r.stderr,
          /fork|Resource temporarily unavailable|Cannot/i,
          `the pids default was not enforced: ${r.stdout} ${r.stderr}`,
        );
        // An explicit field replaces only that default.
        const own = await server.startSandbox(cb, RULES, {
          resources: { memoryBytes: 0, cpuQuota: 0, cpuShares: 0, pidsLimit: 200 },
        });
        const ownSb = await call<Sandbox>(server.sandboxes, server.sandboxes.getSandbox, { sandboxId: own });
        assert.deepEqual(ownSb.resources, { memoryBytes: 256 * MiB, pidsLimit: 200, cpuQuota: 50_000, cpuShares: 0 });
      } finally {
        await server.stop();
      }
    },
  );

  test(
    'as root, /tmp is on the layer tmpfs and cannot outgrow --layer-quota',
    { skip: !isRoot && 'needs root: only a root server mounts the tmpfs' },
    async () => {
      const server = await startServer({ args: ['--layer-quota', '32M'] });
      try {
        const cb = await server.createCodebase({ 'a.txt': 'a\n' });
        const sb = await server.startSandbox(cb, RULES);
        const r = await server.exec(sb, 'head -c 67108864 /dev/zero > /tmp/fill; echo rc=$?');
        assert.match(r.stdout, /rc=1/, `64 MiB fit in /tmp under a 32 MiB quota: ${r.stdout} ${r.stderr}`);
        assert.match(r.stderr, /No space left on device/);
      } finally {
        await server.stop();
      }
    },
  );

  test(
    'without enforceable cgroups, explicit limits are refused by name and defaults are logged as not applied',
    { skip: isRoot && 'needs a non-root server without a delegated cgroup' },
    async () => {
      const server = await startServer();
      try {
        assert.ok(
          server.logs.some((l) => l.includes('default resource limits not applied')),
          `the log must say the defaults are not applied:\n${server.logs.join('\n')}`,
        );
        const cb = await server.createCodebase({ 'a.txt': 'a\n' });
        // A sandbox asking for nothing still works (defaults simply not applied)…
        const sb = await server.startSandbox(cb, RULES);
        assert.equal((await server.exec(sb, 'echo ok')).stdout, 'ok\n');
        // …and one asking for a limit this host cannot enforce is refused, naming it.
        await assert.rejects(
          server.startSandbox(cb, RULES, { resources: { memoryBytes: 0, cpuQuota: 0, cpuShares: 0, pidsLimit: 64 } }),
          (err: ServiceError) => err.code === status.FAILED_PRECONDITION && /pids_limit/.test(err.details),
        );
      } finally {
        await server.stop();
      }
    },
  );
});
