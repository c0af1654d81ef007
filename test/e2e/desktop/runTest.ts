/**
 * Runs the in-editor suites (test/vscode/*.test.ts) inside a desktop VS Code downloaded by
 * @vscode/test-electron. For developers whose machines can reach VS Code's download servers;
 * CI here cannot (it runs the code-server e2e suite in test/e2e instead).
 *
 *   node --import tsx test/e2e/desktop/runTest.ts
 *
 * The suites and the runner are bundled with esbuild (vscode stays external) into
 * dist/vscode-tests/, then VS Code starts with the repository as the extension under development
 * on a fresh copy of the sample workspace.
 */
import { runTests } from '@vscode/test-electron';
import * as esbuild from 'esbuild';
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const REPO = join(__dirname, '..', '..', '..');
const SUITES = join(REPO, 'test', 'vscode');
const OUT = join(REPO, 'dist', 'vscode-tests');

async function main(): Promise<void> {
  execFileSync(process.execPath, [join(REPO, 'scripts', 'build.mjs')], { cwd: REPO, stdio: 'inherit' });
  rmSync(OUT, { recursive: true, force: true });
  const suites = readdirSync(SUITES).filter((f) => f.endsWith('.test.ts'));
  await esbuild.build({
    entryPoints: [join(__dirname, 'tddRunner.ts'), ...suites.map((f) => join(SUITES, f))],
    outdir: OUT,
    entryNames: '[name]', // flat: the runner loads the *.test.js beside it
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    external: ['vscode'],
    sourcemap: 'inline',
    logLevel: 'warning',
  });

  const root = mkdtempSync(join(tmpdir(), 'afvsc-'));
  const workspace = join(root, 'sample-workspace');
  cpSync(join(REPO, 'test', 'fixtures', 'sample-workspace'), workspace, { recursive: true });
  execFileSync('git', ['init', '-q', workspace]);
  try {
    await runTests({
      extensionDevelopmentPath: REPO,
      extensionTestsPath: join(OUT, 'tddRunner.js'),
      launchArgs: [workspace, '--disable-extensions', '--disable-workspace-trust', '--user-data-dir', join(root, 'user-data')],
    });
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
