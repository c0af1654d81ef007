/**
 * Guesses how a folder runs its tests, in the order a developer would expect: the project's
 * own declaration (npm's `scripts.test`) first, then the conventions of each ecosystem.
 * vscode-free: reads the folder with node:fs.
 */
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';

export interface DetectedTestCommand {
  command: string;
  /** Which file told us, for the task's detail line. */
  reason: string;
}

/** npm's placeholder when `npm init` created the script; running it only fails. */
const NPM_PLACEHOLDER = /no test specified/;

async function readText(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch {
    return undefined;
  }
}

export async function detectTestCommand(dir: string): Promise<DetectedTestCommand | undefined> {
  let names: Set<string>;
  try {
    names = new Set(await readdir(dir));
  } catch {
    return undefined;
  }

  if (names.has('package.json')) {
    const text = await readText(join(dir, 'package.json'));
    try {
      const test = (JSON.parse(text ?? '') as { scripts?: Record<string, unknown> }).scripts?.test;
      if (typeof test === 'string' && test.trim() !== '' && !NPM_PLACEHOLDER.test(test)) {
        return { command: 'npm test', reason: 'package.json scripts.test' };
      }
    } catch {
      // A broken package.json says nothing about tests; keep looking.
    }
  }

  if (await usesPytest(dir, names)) return { command: 'python3 -m pytest', reason: 'pytest configuration' };
  if (names.has('go.mod')) return { command: 'go test ./...', reason: 'go.mod' };
  if (names.has('Cargo.toml')) return { command: 'cargo test', reason: 'Cargo.toml' };
  for (const makefile of ['Makefile', 'makefile', 'GNUmakefile']) {
    if (!names.has(makefile)) continue;
    const text = await readText(join(dir, makefile));
    if (text && /^test\s*:/m.test(text)) return { command: 'make test', reason: makefile };
  }
  return undefined;
}

async function usesPytest(dir: string, names: Set<string>): Promise<boolean> {
  if (names.has('pytest.ini') || names.has('conftest.py')) return true;
  if (names.has('pyproject.toml')) {
    const text = (await readText(join(dir, 'pyproject.toml'))) ?? '';
    if (/\[tool\.pytest/.test(text) || /\bpytest\b/.test(text)) return true;
  }
  for (const cfg of ['setup.cfg', 'tox.ini']) {
    if (names.has(cfg) && /\[(tool:)?pytest\]/.test((await readText(join(dir, cfg))) ?? '')) return true;
  }
  // A tests/ folder of test_*.py files is pytest's own discovery convention.
  if (names.has('tests')) {
    try {
      const inner = await readdir(join(dir, 'tests'));
      if (inner.some((n) => /^test_.*\.py$|_test\.py$/.test(n))) return true;
    } catch {
      // not a directory
    }
  }
  return false;
}
