/**
 * 4. File access inside the sandbox vs natively: the same probe (bench/fsprobe.py, same
 * /usr/bin/python3) on the same files, once through Exec in an agent-safe sandbox and once
 * as a plain process on the host, in the server's view folder (the same inodes the sandbox
 * sees at /workspace; the workspace's host copy if the view could not be found). The probe times its own loops, so
 * sandbox and interpreter start-up are not in the figures.
 */
import { join } from 'node:path';
import type { Scenario } from '../scenario';
import { FIXTURES } from '../context';
import { spawnChecked } from '../baselines';
import { goals, row } from '../report';
import { PUBLISHED } from '../published';
import { median } from '../stats';
import { startedSandbox } from './sandboxFixture';

const PYTHON = '/usr/bin/python3';

interface ProbeResult {
  read1k_ms: number;
  read1m_ms: number;
  stat_ms: number;
  stat_files: number;
  find_ms: number;
  find_files: number;
  write_ms: number;
  write_files: number;
}

function probeArgs(loops1k: number, loops1m: number, passes: number, writeDir: string, writeN: number): string[] {
  return [
    FIXTURES.probe,
    '--read1k',
    FIXTURES.read1k,
    '--read1m',
    FIXTURES.read1m,
    '--loops1k',
    String(loops1k),
    '--loops1m',
    String(loops1m),
    '--write-dir',
    writeDir,
    '--write-n',
    String(writeN),
    '--passes',
    String(passes),
  ];
}

const shellQuote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

export const fileAccess: Scenario = {
  name: 'file-access',
  title: '4 file access',
  async run(ctx) {
    const { rpc } = await ctx.server();
    const shared = await ctx.sharedCodebase();
    const fixture = await startedSandbox(ctx);
    const { fsRead1kLoops, fsRead1mLoops, fsPasses, fsWriteFiles, fsRepeats } = ctx.sizes;
    const nativeDir = fixture.viewDir ?? shared.workspace.root;
    try {
      const inSandbox = async (rep: number): Promise<ProbeResult> => {
        // agent-safe makes /workspace/output writable: the probe writes there.
        const args = probeArgs(fsRead1kLoops, fsRead1mLoops, fsPasses, `output/bench-writes-${rep}`, fsWriteFiles);
        const r = await rpc.exec(fixture.sandboxId, [PYTHON, ...args].map(shellQuote).join(' '), 300);
        if (r.exitCode !== 0) throw new Error(`probe in sandbox exited ${r.exitCode}: ${r.stderr.slice(0, 800)}`);
        return JSON.parse(r.stdout) as ProbeResult;
      };
      const natively = async (rep: number): Promise<ProbeResult> => {
        const args = probeArgs(
          fsRead1kLoops,
          fsRead1mLoops,
          fsPasses,
          ctx.path('native-writes', String(rep)),
          fsWriteFiles,
        );
        const r = await spawnChecked([PYTHON, ...args], { cwd: nativeDir });
        return JSON.parse(r.stdout) as ProbeResult;
      };
      // One unrecorded round each warms the page cache and the view, so both read warm files.
      await inSandbox(-1);
      await natively(-1);
      const sandboxRuns: ProbeResult[] = [];
      const nativeRuns: ProbeResult[] = [];
      // Alternate which side goes first, so neither always runs right after the other.
      for (let rep = 0; rep < fsRepeats; rep++) {
        if (rep % 2 === 0) {
          sandboxRuns.push(await inSandbox(rep));
          nativeRuns.push(await natively(rep));
        } else {
          nativeRuns.push(await natively(rep));
          sandboxRuns.push(await inSandbox(rep));
        }
      }
      const med = (runs: ProbeResult[], k: keyof ProbeResult) => median(runs.map((r) => r[k]));
      const files = nativeRuns[0]!.stat_files;
      const sandboxFiles = sandboxRuns[0]!.stat_files;
      const metrics: Array<{ key: keyof ProbeResult; metric: string; goal: boolean; published?: string }> = [
        { key: 'read1k_ms', metric: 'read 1 KB file (open+read+close)', goal: true, published: PUBLISHED.read1k },
        { key: 'read1m_ms', metric: 'read 1 MB file', goal: true, published: PUBLISHED.read1m },
        { key: 'stat_ms', metric: `lstat ${files} files`, goal: true },
        { key: 'find_ms', metric: `find over ${files} files`, goal: true },
        { key: 'write_ms', metric: `write ${fsWriteFiles} 1 KB files`, goal: false, published: PUBLISHED.smallWrites },
      ];
      return {
        rows: metrics.map((m) => {
          const r = row({
            scenario: 'file-access',
            metric: m.metric,
            value: med(sandboxRuns, m.key),
            unit: 'ms',
            baseline: { name: 'native', value: med(nativeRuns, m.key) },
            published: m.published,
          });
          return m.goal ? { ...r, goal: goals.ratioAtMost(1.05, 'native')(r.ratio) } : r;
        }),
        details: {
          repeats: fsRepeats,
          loops: { read1k: fsRead1kLoops, read1m: fsRead1mLoops, writes: fsWriteFiles },
          filesSeen: { native: files, sandbox: sandboxFiles },
          sandboxRuns,
          nativeRuns,
          nativeDir,
          nativeWriteDir: join(ctx.workDir, 'native-writes'),
        },
      };
    } finally {
      await fixture.destroy();
    }
  },
};
