/**
 * 10. What auditing a command costs (strace following it, failed file calls only): `true`,
 * and a file-heavy command over the shared 10 000-file codebase (find + cat of every file),
 * each with audit on and off on the same sandbox, interleaved. The defaults follow from it:
 * audit is on for agents' runs only if it costs at most 20 %.
 */
import { SandboxClient } from '../../src/client';
import type { Scenario } from '../scenario';
import { ratioRow, goals } from '../report';
import { nowMs, summarize } from '../stats';
import { startedSandbox } from './sandboxFixture';

const FILE_HEAVY = 'find . -type f -print0 | xargs -0 cat > /dev/null';

export const auditCost: Scenario = {
  name: 'audit-cost',
  title: '10 audit cost',
  async run(ctx) {
    const server = await ctx.server();
    const fixture = await startedSandbox(ctx, 'development');
    const client = new SandboxClient({ endpoint: `unix:${server.socketPath}` });
    try {
      const time = async (command: string, audit: boolean) => {
        const t = nowMs();
        const r = await client.exec(fixture.sandboxId, command, { audit, timeoutMs: 600_000 });
        if (r.exitCode !== 0)
          throw new Error(`${command} (audit ${audit}) exited ${r.exitCode}: ${r.stderr.slice(0, 200)}`);
        return nowMs() - t;
      };
      const measure = async (command: string, rounds: number) => {
        const off: number[] = [];
        const on: number[] = [];
        await time(command, false);
        await time(command, true);
        for (let i = 0; i < rounds; i++) {
          off.push(await time(command, false));
          on.push(await time(command, true));
        }
        return { off: summarize(off), on: summarize(on) };
      };
      const trueRuns = await measure('true', Math.max(10, Math.round(ctx.sizes.execLatencyCalls / 10)));
      const heavy = await measure(FILE_HEAVY, ctx.quick ? 2 : 7);
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
        ],
        details: { true: trueRuns, fileHeavy: heavy, command: FILE_HEAVY },
      };
    } finally {
      client.close();
      await fixture.destroy();
    }
  },
};
