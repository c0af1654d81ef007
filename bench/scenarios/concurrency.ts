/**
 * 7. Concurrency: N sandboxes, all started, all running a command at the same time.
 * Counts successes and measures the memory of the server and everything it spawned
 * (from /proc; PSS so shared pages are not counted N times) above its idle level.
 */
import type { Scenario } from '../scenario';
import { goals, row } from '../report';
import { PUBLISHED } from '../published';
import { treeMemory, type TreeMemory } from '../processMemory';
import { nowMs } from '../stats';
import { generateWorkspace } from '../synthetic';
import { uploadWorkspaceRaw } from '../uploadRaw';

const MiB_PER_KiB = 1 / 1024;

export const concurrency: Scenario = {
  name: 'concurrency',
  title: '7 concurrency',
  async run(ctx) {
    const server = await ctx.server();
    const { rpc } = server;
    const { concurrentSandboxes: n, concurrentSandboxFiles, concurrentSleepSeconds: sleepS } = ctx.sizes;
    const ws = generateWorkspace(ctx.path('concurrency-workspace'), {
      fileCount: concurrentSandboxFiles,
      totalBytes: concurrentSandboxFiles * 4096,
      seed: ctx.seed + 200,
    });
    const codebase = await rpc.createCodebase('bench-concurrency');
    await uploadWorkspaceRaw(rpc, codebase.id, ws, ctx.sizes.uploadConcurrency);

    const settle = () => new Promise((r) => setTimeout(r, 500));
    await settle();
    const idle = treeMemory(server.pid);

    const ids: string[] = [];
    const startAll = nowMs();
    try {
      for (let i = 0; i < n; i++) {
        const sb = await rpc.createSandbox(codebase.id, 'agent-safe');
        ids.push(sb.id);
        await rpc.startSandbox(sb.id);
      }
      const startedMs = nowMs() - startAll;
      await settle();
      const started = treeMemory(server.pid);

      // All run `sleep` at once; sample memory while they do and keep the peak.
      let peak: TreeMemory = started;
      let sampling = true;
      const sampler = (async () => {
        while (sampling) {
          const m = treeMemory(server.pid);
          if (m.pssKiB > peak.pssKiB) peak = m;
          await new Promise((r) => setTimeout(r, 100));
        }
      })();
      const t0 = nowMs();
      const results = await Promise.allSettled(
        ids.map(async (id) => {
          const r = await rpc.exec(id, `sleep ${sleepS} && echo ok`, sleepS + 60);
          if (r.exitCode !== 0 || r.stdout.trim() !== 'ok')
            throw new Error(`exit ${r.exitCode}: ${r.stderr.slice(0, 200)}`);
        }),
      );
      const wallMs = nowMs() - t0;
      sampling = false;
      await sampler;
      const ok = results.filter((r) => r.status === 'fulfilled').length;
      const firstError = results.find((r): r is PromiseRejectedResult => r.status === 'rejected')?.reason;

      const perSandboxRunning = ((peak.pssKiB - idle.pssKiB) / n) * MiB_PER_KiB;
      const perSandboxIdle = ((started.pssKiB - idle.pssKiB) / n) * MiB_PER_KiB;
      const procsPerSandbox = (peak.processes - idle.processes) / n;
      return {
        rows: [
          row({
            scenario: 'concurrency',
            metric: `sandboxes running \`sleep ${sleepS}\` at once, succeeded`,
            value: ok,
            unit: 'count',
            goal: { text: `all ${n}`, met: ok === n },
            published: PUBLISHED.concurrency,
            note: firstError ? String(firstError).slice(0, 80) : undefined,
          }),
          row({
            scenario: 'concurrency',
            metric: 'wall time of the concurrent exec',
            value: wallMs,
            unit: 'ms',
            baseline: { name: 'the sleep itself', value: sleepS * 1000 },
          }),
          row({
            scenario: 'concurrency',
            metric: 'memory per running sandbox (PSS above idle)',
            value: perSandboxRunning,
            unit: 'MB',
            goal: goals.atMost(5, 'MB', perSandboxRunning),
            published: PUBLISHED.perSandboxMemory,
          }),
          row({
            scenario: 'concurrency',
            metric: 'memory per started, idle sandbox (PSS above idle)',
            value: perSandboxIdle,
            unit: 'MB',
            note: 'no process while idle: bwrap runs per command',
          }),
          row({
            scenario: 'concurrency',
            metric: 'processes per running sandbox',
            value: procsPerSandbox,
            unit: 'count',
          }),
          row({
            scenario: 'concurrency',
            metric: `create+start of ${n} sandboxes, one after another`,
            value: startedMs,
            unit: 'ms',
          }),
        ],
        details: {
          sandboxes: n,
          codebaseFiles: concurrentSandboxFiles,
          memoryKiB: { idle, started, peakWhileRunning: peak },
          rssPerRunningSandboxMiB: ((peak.rssKiB - idle.rssKiB) / n) * MiB_PER_KiB,
          failures: results.flatMap((r) => (r.status === 'rejected' ? [String(r.reason)] : [])).slice(0, 5),
        },
      };
    } finally {
      await Promise.allSettled(ids.map((id) => rpc.destroySandbox(id)));
    }
  },
};
