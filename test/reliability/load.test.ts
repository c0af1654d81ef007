/**
 * Load: 100 sandboxes, each running 10 commands concurrently, driven from 10 independent
 * clients (channels). Zero errors; after the sandboxes are destroyed the server's memory is
 * back near its baseline and no process, file descriptor or mount is left. Bounded: the whole
 * run is cut off after LOAD_BUDGET_MS.
 *
 *   node --import tsx --test test/reliability/load.test.ts
 */
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { credentials, type ServiceError } from '@grpc/grpc-js';
import { SandboxServiceClient, type ExecResult } from '../../src/generated/sandbox';
import {
  agentSafeRules,
  codeName,
  fdCount,
  fdTargets,
  mountsUnder,
  rssBytes,
  sandboxProcessesOf,
  sleep,
  startServer,
  waitFor,
} from '../security/lib/harness';
import type { UnaryByName } from '../helpers/server';

const SANDBOXES = 100;
const COMMANDS = 10;
const CLIENTS = 10;
const LOAD_BUDGET_MS = 150_000;

it(
  `${SANDBOXES} sandboxes x ${COMMANDS} concurrent commands from ${CLIENTS} clients`,
  { timeout: LOAD_BUDGET_MS + 60_000 },
  async () => {
    const srv = await startServer();
    const clients = Array.from(
      { length: CLIENTS },
      (_, i) => new SandboxServiceClient(srv.address, credentials.createInsecure(), { 'agentfense.test.client': i }),
    );
    try {
      const cb = (await srv.createCodebase('load')).id;
      await srv.upload(cb, 'src/app.py', 'print(1)\n');
      await srv.upload(cb, '.env', 'SECRET=1\n');
      // Warm up every code path once, then take the baseline.
      const warm = (await srv.createSandbox(cb, agentSafeRules())).id;
      await srv.exec(warm, 'echo warm > /workspace/output/warm');
      await srv.destroySandbox(warm);
      await sleep(1000);
      const base = {
        rss: rssBytes(srv.pid),
        fds: fdCount(srv.pid),
        mounts: mountsUnder(srv.dataDir).length,
        procs: sandboxProcessesOf(srv.dataDir).length,
      };

      const deadline = Date.now() + LOAD_BUDGET_MS;
      const errors: string[] = [];
      let ok = 0;
      let peakRss = base.rss;
      let peakFds = base.fds;
      const sampler = setInterval(() => {
        peakRss = Math.max(peakRss, rssBytes(srv.pid));
        peakFds = Math.max(peakFds, fdCount(srv.pid));
      }, 250);
      const latencies: number[] = [];
      const t0 = Date.now();

      const exec = (c: SandboxServiceClient, sandboxId: string, command: string) =>
        new Promise<ExecResult>((resolve, reject) =>
          c.exec(
            { sandboxId, command, stdin: '', env: {}, workdir: '', timeout: { seconds: 60, nanos: 0 } },
            srv.md(),
            { deadline },
            (e: ServiceError | null, r: ExecResult) => (e ? reject(e) : resolve(r)),
          ),
        );
      const unary = <T>(
        c: SandboxServiceClient,
        m: 'createSandbox' | 'startSandbox' | 'destroySandbox',
        req: unknown,
      ) =>
        new Promise<T>((resolve, reject) =>
          (c[m] as unknown as UnaryByName<T>)(req, srv.md(), { deadline }, (e: ServiceError | null, r: T) =>
            e ? reject(e) : resolve(r),
          ),
        );

      const ids: string[] = [];
      await Promise.all(
        clients.map(async (c, ci) => {
          const mine = SANDBOXES / CLIENTS;
          await Promise.all(
            Array.from({ length: mine }, async (_, k) => {
              const n = ci * mine + k;
              try {
                const sb = await unary<{ id: string }>(c, 'createSandbox', {
                  codebaseId: cb,
                  permissions: agentSafeRules(),
                  labels: { n: String(n) },
                  runtime: 1,
                  image: '',
                });
                ids.push(sb.id);
                await unary(c, 'startSandbox', { sandboxId: sb.id });
                await Promise.all(
                  Array.from({ length: COMMANDS }, async (_, j) => {
                    const started = Date.now();
                    try {
                      const r = await exec(
                        c,
                        sb.id,
                        `echo ${n}-${j} > /workspace/output/s${n}-${j}; echo $((${n} * 100 + ${j})); cat /workspace/.env 2>/dev/null; true`,
                      );
                      latencies.push(Date.now() - started);
                      if (r.exitCode !== 0 || r.stdout !== `${n * 100 + j}\n`)
                        errors.push(
                          `sandbox ${n} cmd ${j}: exit ${r.exitCode} stdout ${JSON.stringify(r.stdout)} stderr ${JSON.stringify(r.stderr.slice(0, 200))}`,
                        );
                      else ok++;
                    } catch (e) {
                      errors.push(
                        `sandbox ${n} cmd ${j}: ${codeName((e as ServiceError).code)} ${(e as ServiceError).details}`,
                      );
                    }
                  }),
                );
              } catch (e) {
                errors.push(`sandbox ${n}: ${codeName((e as ServiceError).code)} ${(e as ServiceError).details}`);
              }
            }),
          );
        }),
      );
      const elapsed = Date.now() - t0;
      // Destroy everything (also what a failed run left).
      for (let i = 0; i < ids.length; i += 20) {
        await Promise.all(
          ids
            .slice(i, i + 20)
            .map((id) =>
              srv.destroySandbox(id).catch((e) => errors.push(`destroy ${id}: ${codeName(e.code)} ${e.details}`)),
            ),
        );
      }
      clearInterval(sampler);
      // The load clients hang up (their connections are not the server's leak); the harness's
      // own two clients stay, as they did for the baseline.
      for (const c of clients) c.close();

      const procs = await waitFor(
        () => sandboxProcessesOf(srv.dataDir),
        (v) => v.length === 0,
        10_000,
      );
      const mounts = await waitFor(
        () => mountsUnder(srv.dataDir),
        (v) => v.length <= base.mounts,
        10_000,
      );
      const fds = await waitFor(
        () => fdCount(srv.pid),
        (n) => n <= base.fds + 2,
        15_000,
        250,
      );
      // Memory settles once the garbage collector runs; give it a few seconds of idle.
      const rss = await waitFor(
        () => rssBytes(srv.pid),
        (r) => r <= base.rss * 1.5 + 64 * 2 ** 20,
        15_000,
        500,
      );
      latencies.sort((a, b) => a - b);
      const pct = (p: number) =>
        latencies[Math.min(latencies.length - 1, Math.floor((latencies.length * p) / 100))] ?? 0;
      const files = (await srv.listFiles(cb, 'output', true)).filter(
        (f) => !f.isDir && /^output\/s\d+-\d+$/.test(f.path),
      ).length;
      const mb = (b: number) => (b / 2 ** 20).toFixed(0);
      console.log(
        `load: ${ok}/${SANDBOXES * COMMANDS} commands ok, ${errors.length} errors in ${(elapsed / 1000).toFixed(1)} s ` +
          `(${((ok * 1000) / elapsed).toFixed(0)} commands/s; latency p50 ${pct(50)} ms, p99 ${pct(99)} ms); ${files} merged files\n` +
          `      server RSS baseline ${mb(base.rss)} MiB, peak ${mb(peakRss)} MiB, after ${mb(rss)} MiB; ` +
          `fds baseline ${base.fds}, peak ${peakFds}, after ${fds}; mounts under data dir after ${mounts.length} (baseline ${base.mounts}); ` +
          `sandbox processes after ${procs.length}`,
      );
      assert.deepEqual(errors.slice(0, 20), [], `${errors.length} errors`);
      assert.equal(ok, SANDBOXES * COMMANDS);
      assert.equal(files, SANDBOXES * COMMANDS, 'every command merged its file');
      assert.deepEqual(
        procs.map((p) => p.cmd.slice(0, 80)),
        [],
        'no sandbox process left',
      );
      assert.ok(mounts.length <= base.mounts, `mounts left: ${mounts.slice(0, 5).join(', ')}`);
      assert.ok(fds <= base.fds + 2, `fds leaked: ${base.fds} → ${fds}: ${fdTargets(srv.pid).slice(-10).join(', ')}`);
      assert.ok(
        rss <= base.rss * 1.5 + 64 * 2 ** 20,
        `memory did not return near its baseline: ${mb(base.rss)} → ${mb(rss)} MiB`,
      );
    } finally {
      for (const c of clients) c.close();
      await srv.stop();
    }
  },
);
