/**
 * 3. Create + start of a sandbox on a realistic codebase (agent-safe), then time to first
 * output of a command in it. The first sandbox on a codebase pays for building its view;
 * the next ones should reuse it, so they are reported apart (median of the rest).
 * Runs on a codebase of its own (same files as the shared one) so "first" really is first.
 */
import type { Scenario } from '../scenario';
import { goals, row } from '../report';
import { PUBLISHED } from '../published';
import { median, nowMs, summarize } from '../stats';
import { uploadWorkspaceRaw } from '../uploadRaw';

export const createStart: Scenario = {
  name: 'create-start',
  title: '3 create+start',
  async run(ctx) {
    const { rpc } = await ctx.server();
    const shared = await ctx.sharedCodebase();
    const codebase = await rpc.createCodebase('bench-create-start');
    ctx.log(`uploading ${shared.workspace.files.length} files into a fresh codebase`);
    await uploadWorkspaceRaw(rpc, codebase.id, shared.workspace, ctx.sizes.uploadConcurrency);

    const create: number[] = [];
    const start: number[] = [];
    const firstOutput: number[] = [];
    const destroy: number[] = [];
    for (let i = 0; i <= ctx.sizes.createStartRepeats; i++) {
      const t0 = nowMs();
      const sb = await rpc.createSandbox(codebase.id, 'agent-safe');
      const t1 = nowMs();
      await rpc.startSandbox(sb.id);
      const t2 = nowMs();
      const out = await rpc.execStreamFirstOutput(sb.id, 'echo ready');
      create.push(t1 - t0);
      start.push(t2 - t1);
      firstOutput.push(out.firstOutputMs);
      const t3 = nowMs();
      await rpc.destroySandbox(sb.id);
      destroy.push(nowMs() - t3);
    }
    const both = create.map((c, i) => c + start[i]!);
    const rest = (xs: number[]) => xs.slice(1);
    const restBoth = median(rest(both));
    const n = ctx.sizes.createStartRepeats;
    const files = shared.workspace.files.length;
    return {
      rows: [
        row({
          scenario: 'create-start',
          metric: `first create+start, ${files} files`,
          value: both[0]!,
          unit: 'ms',
          published: `${PUBLISHED.createP50}; ${PUBLISHED.startP50}`,
        }),
        row({
          scenario: 'create-start',
          metric: `create+start, median of next ${n}`,
          value: restBoth,
          unit: 'ms',
          goal: goals.atMost(30, 'ms', restBoth),
        }),
        row({
          scenario: 'create-start',
          metric: `create p50 (next ${n})`,
          value: median(rest(create)),
          unit: 'ms',
          published: PUBLISHED.createP50,
        }),
        row({
          scenario: 'create-start',
          metric: `start p50 (next ${n})`,
          value: median(rest(start)),
          unit: 'ms',
          published: PUBLISHED.startP50,
        }),
        row({
          scenario: 'create-start',
          metric: 'first output of `echo` after start, p50',
          value: median(firstOutput),
          unit: 'ms',
        }),
        row({ scenario: 'create-start', metric: 'destroy p50', value: median(destroy), unit: 'ms' }),
      ],
      details: {
        files,
        first: { createMs: create[0], startMs: start[0], firstOutputMs: firstOutput[0] },
        rest: {
          create: summarize(rest(create)),
          start: summarize(rest(start)),
          createPlusStart: summarize(rest(both)),
        },
        firstOutput: summarize(firstOutput),
        destroy: summarize(destroy),
      },
    };
  },
};
