/**
 * 8. The extension itself: production bundle sizes, and an activation-time proxy —
 * require() of the production bundle plus activate() with a stubbed `vscode` module, in a
 * fresh Node process each time. Not a VS Code measurement (no extension host, no real
 * API): it bounds what our own code costs at activation.
 */
import { statSync } from 'node:fs';
import { join } from 'node:path';
import * as esbuild from 'esbuild';
import type { Scenario } from '../scenario';
import { spawnChecked } from '../baselines';
import { row } from '../report';
import { median } from '../stats';

/** The production options of scripts/build.mjs (keep in step), into our own outdir so dist/ is untouched. */
async function productionBuild(repoRoot: string, outDir: string): Promise<{ extension: string; server: string }> {
  const common: esbuild.BuildOptions = {
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    sourcemap: false,
    minify: true,
    logLevel: 'warning',
    absWorkingDir: repoRoot,
  };
  const extension = join(outDir, 'dist', 'extension.js');
  const server = join(outDir, 'dist', 'server.js');
  await Promise.all([
    esbuild.build({ ...common, entryPoints: ['src/extension/main.ts'], outfile: extension, external: ['vscode'] }),
    // As scripts/build.mjs builds it: dockerode's ssh:// transport stands in (scripts/bundleStubs/ssh2.cjs).
    esbuild.build({
      ...common,
      entryPoints: ['src/server/main.ts'],
      outfile: server,
      alias: { ssh2: './scripts/bundleStubs/ssh2.cjs' },
    }),
  ]);
  return { extension, server };
}

const kb = (path: string) => statSync(path).size / 1024;

export const extension: Scenario = {
  name: 'extension',
  title: '8 extension',
  async run(ctx) {
    const built = await productionBuild(ctx.repoRoot, ctx.path('production-build'));
    const probe = join(__dirname, '..', 'activationProbe.cjs');
    const runs: Array<{ requireMs: number; activateMs: number; subscriptions: number }> = [];
    for (let i = 0; i < ctx.sizes.activationRepeats; i++) {
      const r = await spawnChecked([process.execPath, probe, built.extension]);
      runs.push(JSON.parse(r.stdout.trim().split('\n').pop()!));
    }
    const requireMs = median(runs.map((r) => r.requireMs));
    const activateMs = median(runs.map((r) => r.activateMs));
    return {
      rows: [
        row({
          scenario: 'extension',
          metric: 'dist/extension.js (production)',
          value: kb(built.extension),
          unit: 'KB',
        }),
        row({ scenario: 'extension', metric: 'dist/server.js (production)', value: kb(built.server), unit: 'KB' }),
        row({
          scenario: 'extension',
          metric: 'activation proxy: require() of the bundle',
          value: requireMs,
          unit: 'ms',
          note: 'stubbed vscode, not VS Code',
        }),
        row({
          scenario: 'extension',
          metric: 'activation proxy: activate()',
          value: activateMs,
          unit: 'ms',
          note: 'stubbed vscode, not VS Code',
        }),
      ],
      details: { runs, note: 'activation measured outside VS Code with a stub vscode module (bench/vscodeStub.cjs)' },
    };
  },
};
