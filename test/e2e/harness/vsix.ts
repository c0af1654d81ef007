/**
 * The extension as a user gets it: a .vsix made by vsce from the built bundles.
 *
 * The package is content-addressed (a hash of what goes into it) and kept in the e2e cache, so
 * the e2e test files that start at the same time package it once, and a rerun with unchanged
 * bundles packages nothing. It packages the dist/ that `npm test` has just built (scripts/test.mjs
 * builds before running any suite) instead of rebuilding dist/ itself: other suites run beside
 * the e2e files and use dist/server.js, which must not be rewritten under them.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { REPO_ROOT } from './environment';
import { withFileLock } from './fileLock';

const PACKAGED_FILES = ['package.json', 'README.md', 'LICENSE', '.vscodeignore'];

interface BuildFreshness {
  /** What the build makes (the .vsix carries each). */
  BUNDLES: readonly string[];
  distIsFresh(root: string): boolean;
}

/** Plain ESM shared with `npm start`; a computed specifier keeps tsc from wanting declarations. */
async function buildFreshness(): Promise<BuildFreshness> {
  return (await import(pathToFileURL(join(REPO_ROOT, 'scripts', 'buildFreshness.mjs')).href)) as BuildFreshness;
}

/** Builds dist/ when it is missing or older than its sources (a test file run on its own, without npm test). */
async function ensureBuilt(): Promise<void> {
  if ((await buildFreshness()).distIsFresh(REPO_ROOT)) return;
  console.log('[e2e] dist/ is missing or stale: building');
  execFileSync(process.execPath, [join(REPO_ROOT, 'scripts', 'build.mjs')], { cwd: REPO_ROOT, stdio: 'inherit' });
}

async function inputsHash(): Promise<string> {
  const h = createHash('sha256');
  for (const f of [...(await buildFreshness()).BUNDLES, ...PACKAGED_FILES]) {
    const p = join(REPO_ROOT, f);
    h.update(f)
      .update('\0')
      .update(existsSync(p) ? readFileSync(p) : '')
      .update('\0');
  }
  return h.digest('hex').slice(0, 16);
}

/** Path of a .vsix of the current build; packages it with vsce when there is none yet. */
export async function packagedExtension(cache: string): Promise<string> {
  if (process.env.AGENTFENSE_E2E_VSIX) return process.env.AGENTFENSE_E2E_VSIX;
  const dir = join(cache, 'vsix');
  mkdirSync(dir, { recursive: true });
  return withFileLock(join(dir, 'package.lock'), async () => {
    await ensureBuilt();
    const vsix = join(dir, `agentfense-${await inputsHash()}.vsix`);
    if (existsSync(vsix)) return vsix;
    console.log(`[e2e] packaging the extension with vsce → ${vsix}`);
    const partial = `${vsix}.partial.vsix`;
    try {
      execFileSync(
        join(REPO_ROOT, 'node_modules', '.bin', 'vsce'),
        // The README's links are relative to this repository, which has no public URL to rewrite them to.
        ['package', '--no-dependencies', '--no-rewrite-relative-links', '--out', partial],
        { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' },
      );
    } catch (e) {
      const err = e as { stdout?: string; stderr?: string };
      throw new Error(`vsce package failed:\n${err.stdout ?? ''}${err.stderr ?? ''}`);
    }
    renameSync(partial, vsix);
    return vsix;
  });
}

/** The test-only probe extension (test/e2e/fixtures/agent-probe), packaged once per content. */
export async function packagedProbe(cache: string): Promise<string> {
  const source = join(REPO_ROOT, 'test', 'e2e', 'fixtures', 'agent-probe');
  const dir = join(cache, 'vsix');
  mkdirSync(dir, { recursive: true });
  const h = createHash('sha256');
  for (const f of ['package.json', 'extension.js']) h.update(readFileSync(join(source, f)));
  const vsix = join(dir, `agent-probe-${h.digest('hex').slice(0, 16)}.vsix`);
  return withFileLock(join(dir, 'package.lock'), async () => {
    if (existsSync(vsix)) return vsix;
    const partial = `${vsix}.partial.vsix`;
    execFileSync(
      join(REPO_ROOT, 'node_modules', '.bin', 'vsce'),
      ['package', '--no-dependencies', '--allow-missing-repository', '--skip-license', '--out', partial],
      { cwd: source, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' },
    );
    renameSync(partial, vsix);
    return vsix;
  });
}
