/**
 * 10. What auditing a command costs (strace following it, failed file calls only): `true`,
 * a file-heavy command over the shared 10 000-file codebase (find + cat of every file), and
 * the sample project's test run (test/fixtures/sample-workspace: `npm test`, node's test
 * runner; one of its tests fails on purpose), each with audit on and off on the same sandbox,
 * interleaved. The defaults follow from it: audit is on for agents' runs only if it costs at
 * most 20 %.
 */
import { join } from 'node:path';
import { Sandbox, SandboxClient } from '../../src/client';
import type { Scenario } from '../scenario';
import { ratioRow, goals } from '../report';
import { nowMs, summarize } from '../stats';
import { startedSandbox } from './sandboxFixture';

const FILE_HEAVY = 'find . -type f -print0 | xargs -0 cat > /dev/null';
/** One of the sample's two tests fails on purpose: the run exits 1, audited or not. */
const SAMPLE_TESTS = 'npm test';

export const auditCost: Scenario = {
  name: 'audit-cost',
  title: '10 audit cost',
  async run(ctx) {
    const server = await ctx.server();
    const fixture = await startedSandbox(ctx, 'development');
    const client = new SandboxClient({ endpoint: `unix:${server.socketPath}` });
    try {
      const time = async (sandboxId: string, command: string, audit: boolean, exitCode: number) => {
        const t = nowMs();
        const r = await client.exec(sandboxId, command, { audit, timeoutMs: 600_000 });
        if (r.exitCode !== exitCode)
          throw new Error(`${command} (audit ${audit}) exited ${r.exitCode}: ${r.stderr.slice(0, 200)}`);
        return nowMs() - t;
      };
      const measure = async (command: string, rounds: number, sandboxId = fixture.sandboxId, exitCode = 0) => {
        const off: number[] = [];
        const on: number[] = [];
        await time(sandboxId, command, false, exitCode);
        await time(sandboxId, command, true, exitCode);
        for (let i = 0; i < rounds; i++) {
          off.push(await time(sandboxId, command, false, exitCode));
          on.push(await time(sandboxId, command, true, exitCode));
        }
        return { off: summarize(off), on: summarize(on) };
      };
      const trueRuns = await measure('true', Math.max(10, Math.round(ctx.sizes.execLatencyCalls / 10)));
      const heavy = await measure(FILE_HEAVY, ctx.quick ? 2 : 7);
      await using sample = await Sandbox.fromLocal(join(ctx.repoRoot, 'test', 'fixtures', 'sample-workspace'), {
        client,
        preset: 'development',
      });
      const tests = await measure(SAMPLE_TESTS, ctx.quick ? 3 : 10, sample.id, 1);
      return {
        rows: [
          ratioRow(
            {
              scenario: 'audit-cost',
              metric: 'exec `true` p50, audited',
              value: trueRuns.on.p50,
              unit: 'ms',
              baseline: { name: 'not audited', value: trueRuns.off.p50 },
            },
            goals.ratioAtMost(1.2, 'not audited'),
          ),
          ratioRow(
            {
              scenario: 'audit-cost',
              metric: `find + cat of ${ctx.sizes.codebaseFiles} files p50, audited`,
              value: heavy.on.p50,
              unit: 'ms',
              baseline: { name: 'not audited', value: heavy.off.p50 },
            },
            goals.ratioAtMost(1.2, 'not audited'),
          ),
          ratioRow(
            {
              scenario: 'audit-cost',
              metric: "the sample project's `npm test` p50, audited",
              value: tests.on.p50,
              unit: 'ms',
              baseline: { name: 'not audited', value: tests.off.p50 },
            },
            goals.ratioAtMost(1.2, 'not audited'),
          ),
        ],
        details: {
          true: trueRuns,
          fileHeavy: heavy,
          command: FILE_HEAVY,
          sampleTests: tests,
          sampleCommand: SAMPLE_TESTS,
        },
      };
    } finally {
      client.close();
      await fixture.destroy();
    }
  },
};
