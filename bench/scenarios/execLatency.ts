/**
 * 1. Exec latency: `true` over gRPC on a running sandbox, sequentially, against the same
 * bwrap command line spawned directly (from a lean Node process, as the server would spawn
 * it) and a plain `sh -c true`. The three are interleaved in blocks so a burst of machine
 * noise hits all of them alike.
 */
import type { Scenario } from '../scenario';
import { spawnSamplesFromLeanNode, PLAIN_SHELL_TRUE } from '../baselines';
import { goals, ratioRow, row } from '../report';
import { PUBLISHED } from '../published';
import { nowMs, summarize } from '../stats';
import { processRssMiB } from '../processMemory';
import { FailureBudget } from '../failureBudget';
import { startedSandbox } from './sandboxFixture';

const BLOCK = 50;

export const execLatency: Scenario = {
  name: 'exec-latency',
  title: '1 exec latency',
  async run(ctx) {
    const server = await ctx.server();
    const { rpc } = server;
    const fixture = await startedSandbox(ctx);
    try {
      const bare = fixture.bareArgv('true');
      const warm = ctx.sizes.execWarmupCalls;
      for (let i = 0; i < warm; i++) await rpc.exec(fixture.sandboxId, 'true');
      await spawnSamplesFromLeanNode(bare, fixture.bareSpawnOptions, warm);
      await spawnSamplesFromLeanNode(PLAIN_SHELL_TRUE, {}, warm);
      const grpcFailures = new FailureBudget('exec calls');
      const bareFailures = new FailureBudget('bare bwrap spawns');
      const shellFailures = new FailureBudget('sh spawns');
      const grpc: number[] = [];
      /** ExecResult.duration: what the server measured from spawning bwrap to its exit. */
      const serverCommand: number[] = [];
      const bwrap: number[] = [];
      const shell: number[] = [];
      for (let done = 0; done < ctx.sizes.execLatencyCalls; done += BLOCK) {
        const n = Math.min(BLOCK, ctx.sizes.execLatencyCalls - done);
        for (let i = 0; i < n; i++) {
          const start = nowMs();
          const r = await rpc.exec(fixture.sandboxId, 'true');
          const ms = nowMs() - start;
          if (r.exitCode !== 0) {
            grpcFailures.record(`exit ${r.exitCode} ${r.stderr.slice(0, 100)}`);
            continue;
          }
          grpc.push(ms);
          if (r.duration) serverCommand.push(r.duration.seconds * 1000 + r.duration.nanos / 1e6);
        }
        const b = await spawnSamplesFromLeanNode(bare, fixture.bareSpawnOptions, n);
        bwrap.push(...b.samples);
        b.errors.forEach((e) => bareFailures.record(e));
        const sh = await spawnSamplesFromLeanNode(PLAIN_SHELL_TRUE, {}, n);
        shell.push(...sh.samples);
        sh.errors.forEach((e) => shellFailures.record(e));
      }
      for (const f of [grpcFailures, bareFailures, shellFailures]) f.check(ctx.sizes.execLatencyCalls);
      const g = summarize(grpc);
      const b = summarize(bwrap);
      const s = summarize(shell);
      const c = summarize(serverCommand);
      const bareName = `bare bwrap${fixture.bareArgvSource === 'mirror' ? ' (mirrored argv)' : ''}`;
      return {
        rows: [
          ratioRow(
            {
              scenario: 'exec-latency',
              metric: 'exec `true` p50',
              value: g.p50,
              unit: 'ms',
              baseline: { name: bareName, value: b.p50 },
              published: PUBLISHED.execP50,
              note: grpcFailures.note() ?? bareFailures.note(),
            },
            goals.ratioAtMost(1.5, 'bare bwrap'),
          ),
          row({
            scenario: 'exec-latency',
            metric: 'exec `true` p90',
            value: g.p90,
            unit: 'ms',
            baseline: { name: bareName, value: b.p90 },
          }),
          ratioRow(
            {
              scenario: 'exec-latency',
              metric: 'exec `true` p99',
              value: g.p99,
              unit: 'ms',
              baseline: { name: bareName, value: b.p99 },
              published: PUBLISHED.execP99,
            },
            goals.ratioAtMost(3, 'bare bwrap'),
          ),
          row({
            scenario: 'exec-latency',
            metric: 'exec `true` p50 vs plain shell',
            value: g.p50,
            unit: 'ms',
            baseline: { name: 'sh -c true', value: s.p50 },
          }),
          row({
            scenario: 'exec-latency',
            metric: 'server-measured command time p50 (spawn → exit)',
            value: c.p50,
            unit: 'ms',
            baseline: { name: bareName, value: b.p50 },
            note: 'the rest of exec p50 is gRPC, locking and the merge',
          }),
          row({
            scenario: 'exec-latency',
            metric: 'bare bwrap p50 vs plain shell',
            value: b.p50,
            unit: 'ms',
            baseline: { name: 'sh -c true', value: s.p50 },
            note: 'cost of the sandbox tool itself',
          }),
        ],
        // fork() cost grows with the parent's memory: the server's size is part of the story.
        details: {
          serverRssMiB: processRssMiB(server.pid),
          benchRssMiB: process.memoryUsage().rss / 2 ** 20,
          calls: ctx.sizes.execLatencyCalls,
          grpc: g,
          failures: { exec: grpcFailures.failures, bareBwrap: bareFailures.failures, shell: shellFailures.failures },
          serverCommandDuration: c,
          bareBwrap: b,
          plainShell: s,
          bareArgv: bare,
          bareArgvSource: fixture.bareArgvSource,
        },
      };
    } finally {
      await fixture.destroy();
    }
  },
};
