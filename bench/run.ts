/**
 * `npm run bench` — every scenario on this machine, now, each figure next to a baseline
 * measured in the same run. `npm run bench -- --quick` runs them all at tiny sizes (a
 * smoke test for CI: it fails on errors, never on slowness).
 *
 *   --quick            tiny sizes; writes bench/results/latest-quick.json
 *   --only a,b         only these scenarios (names: see SCENARIOS)
 *   --out FILE         JSON output path (default bench/results/latest.json)
 *   --seed N           synthetic workspace seed (default 20240611)
 *   --keep             keep the temp dir (server data, workspaces, server log)
 *
 * Exit code: 1 if a scenario failed to run; a missed goal is reported, not an error.
 */
import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { BenchContext } from './context';
import { describeMachine } from './machine';
import { formatHeader, formatTable, summaryCounts, writeJson, type RunReport, type ScenarioOutcome } from './report';
import type { Scenario } from './scenario';
import { FULL, QUICK } from './sizes';
import { nowMs } from './stats';
import { execLatency } from './scenarios/execLatency';
import { execThroughput } from './scenarios/execThroughput';
import { createStart } from './scenarios/createStart';
import { fileAccess } from './scenarios/fileAccess';
import { upload } from './scenarios/upload';
import { changeDetection } from './scenarios/changeDetection';
import { concurrency } from './scenarios/concurrency';
import { extension } from './scenarios/extension';
import { mcpRun } from './scenarios/mcpRun';
import { auditCost } from './scenarios/auditCost';
import { egress } from './scenarios/egress';
import { dockerRuntime } from './scenarios/dockerRuntime';
import { e2bFront } from './scenarios/e2bFront';

/** In this order: change-detection writes into the shared codebase, so it runs after the readers. */
const SCENARIOS: Scenario[] = [
  execLatency,
  execThroughput,
  createStart,
  fileAccess,
  upload,
  changeDetection,
  concurrency,
  extension,
  mcpRun,
  auditCost,
  egress,
  dockerRuntime,
  e2bFront,
];

const repoRoot = join(__dirname, '..');

function mountsUnder(dir: string): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((line) => line.split(' ')[4] ?? '')
    .filter((mountPoint) => mountPoint === dir || mountPoint.startsWith(dir + '/'));
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      only: { type: 'string' },
      out: { type: 'string' },
      seed: { type: 'string', default: '20240611' },
      keep: { type: 'boolean', default: false },
    },
  });
  const quick = values.quick!;
  const seed = Number(values.seed);
  const only = values.only
    ?.split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const unknown = only?.filter((n) => !SCENARIOS.some((s) => s.name === n)) ?? [];
  if (unknown.length) {
    console.error(`unknown scenario(s): ${unknown.join(', ')} (known: ${SCENARIOS.map((s) => s.name).join(', ')})`);
    return 2;
  }
  const selected = only ? SCENARIOS.filter((s) => only.includes(s.name)) : SCENARIOS;
  const outPath = values.out ?? join(repoRoot, 'bench', 'results', quick ? 'latest-quick.json' : 'latest.json');

  // Short path: the server's unix socket lives here and socket paths max out at ~107 bytes.
  const workDir = mkdtempSync(join(tmpdir(), 'af-bench-'));
  // The server runs sandboxes as an unprivileged uid that must be able to reach its data dir.
  chmodSync(workDir, 0o755);
  const ctx = new BenchContext(repoRoot, workDir, quick ? QUICK : FULL, quick, seed);
  const report: RunReport = {
    date: new Date().toISOString(),
    mode: quick ? 'quick' : 'full',
    machine: describeMachine(),
    seed,
    scenarios: [],
  };
  console.error(formatHeader(report));
  console.error(`work dir ${workDir}`);
  try {
    for (const scenario of selected) {
      console.error(`▶ ${scenario.title}`);
      const start = nowMs();
      const outcome: ScenarioOutcome = { name: scenario.name, title: scenario.title, ms: 0, rows: [], details: {} };
      try {
        const result = await scenario.run(ctx);
        outcome.rows = result.rows;
        outcome.details = result.details;
      } catch (err) {
        outcome.error = err instanceof Error ? (err.stack ?? err.message) : String(err);
        console.error(`  ✗ ${scenario.name}: ${outcome.error}`);
      }
      outcome.ms = nowMs() - start;
      console.error(`  done in ${(outcome.ms / 1000).toFixed(1)} s`);
      report.scenarios.push(outcome);
    }
  } finally {
    await ctx.close();
    const leftMounts = mountsUnder(workDir);
    if (values.keep) console.error(`kept ${workDir}`);
    // Never delete through a mount the server left behind: it could reach outside the temp dir.
    else if (leftMounts.length) console.error(`not deleting ${workDir}: still mounted there: ${leftMounts.join(', ')}`);
    else rmSync(workDir, { recursive: true, force: true });
  }

  report.loadAverageAtEnd = loadavg()[0];
  console.log(formatHeader(report));
  console.log('');
  console.log(formatTable(report));
  writeJson(outPath, report);
  const counts = summaryCounts(report);
  console.log('');
  console.log(`goals met ${counts.met}, missed ${counts.missed}, scenarios failed ${counts.errors}; JSON: ${outPath}`);
  if (quick) console.log('(quick mode: tiny sizes, figures are not comparable with the goals)');
  return counts.errors > 0 ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
