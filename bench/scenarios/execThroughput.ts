/**
 * 2. Exec throughput: N concurrent callers issuing `true` over gRPC for a fixed time,
 * against the same concurrency of bare bwrap spawns (what the machine can do at all).
 */
import type { Scenario } from '../scenario';
import { goals, ratioRow } from '../report';
import { PUBLISHED } from '../published';
import { closedLoopThroughput } from '../stats';
import { spawnThroughputFromLeanNode } from '../baselines';
import { startedSandbox } from './sandboxFixture';

const SLICE_MS = 2500;

export const execThroughput: Scenario = {
  name: 'exec-throughput',
  title: '2 exec throughput',
  async run(ctx) {
    const { rpc } = await ctx.server();
    const fixture = await startedSandbox(ctx);
    try {
      const { throughputConcurrency: c, throughputMs: ms } = ctx.sizes;
      // Alternating slices, so a change in the machine's other load hits both sides alike.
      // Failed calls are counted and excluded (see failureBudget.ts), on both sides alike.
      const slices = Math.max(1, Math.round(ms / SLICE_MS));
      const grpc = { calls: 0, elapsedMs: 0, perSecond: 0, errors: 0 };
      const bwrap = { calls: 0, elapsedMs: 0, perSecond: 0, errors: 0 };
      const add = (into: typeof grpc, r: typeof grpc) => {
        into.calls += r.calls;
        into.elapsedMs += r.elapsedMs;
        into.errors += r.errors;
        into.perSecond = (into.calls / into.elapsedMs) * 1000;
      };
      for (let i = 0; i < slices; i++) {
        add(
          grpc,
          await closedLoopThroughput(c, ms / slices, async () => {
            const r = await rpc.exec(fixture.sandboxId, 'true');
            if (r.exitCode !== 0) throw new Error(`exit ${r.exitCode}`);
          }),
        );
        add(
          bwrap,
          await spawnThroughputFromLeanNode(fixture.bareArgv('true'), fixture.bareSpawnOptions, c, ms / slices),
        );
      }
      for (const [what, r] of [
        ['exec calls', grpc],
        ['bare bwrap spawns', bwrap],
      ] as const) {
        const allowed = Math.max(1, Math.floor(0.01 * (r.calls + r.errors)));
        if (r.errors > allowed)
          throw new Error(`${r.errors} of ${r.calls + r.errors} ${what} failed during the throughput run`);
      }
      return {
        rows: [
          ratioRow(
            {
              scenario: 'exec-throughput',
              metric: `exec \`true\`, ${c} callers, ${ms / 1000} s`,
              value: grpc.perSecond,
              unit: '/s',
              baseline: { name: `${c} concurrent bare bwrap`, value: bwrap.perSecond },
              published: PUBLISHED.execThroughput,
              note:
                grpc.errors || bwrap.errors
                  ? `failed and not counted: ${grpc.errors} exec, ${bwrap.errors} bare`
                  : undefined,
            },
            goals.ratioAtLeast(0.8, 'bare bwrap'),
          ),
        ],
        details: { concurrency: c, durationMs: ms, slices, grpc, bareBwrap: bwrap },
      };
    } finally {
      await fixture.destroy();
    }
  },
};
