/**
 * The extensionTestsPath module for @vscode/test-electron: a small runner for mocha's TDD UI
 * (suite / test / suiteSetup / suiteTeardown / setup / teardown), so the in-editor suites in
 * test/vscode/ run without adding mocha to the repository. It is bundled with the suites by
 * runTest.ts and loaded inside the VS Code extension host, which calls run().
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

type Fn = () => unknown;
interface Suite {
  name: string;
  tests: { name: string; fn: Fn }[];
  suiteSetup: Fn[];
  suiteTeardown: Fn[];
  setup: Fn[];
  teardown: Fn[];
}

const TEST_TIMEOUT_MS = 60_000;

function withTimeout(fn: Fn, what: string): Promise<unknown> {
  return Promise.race([
    Promise.resolve().then(fn),
    new Promise((_, reject) => setTimeout(() => reject(new Error(`${what}: timed out after ${TEST_TIMEOUT_MS} ms`)), TEST_TIMEOUT_MS).unref()),
  ]);
}

export async function run(): Promise<void> {
  const suites: Suite[] = [];
  let current: Suite | undefined;
  const g = globalThis as Record<string, unknown>;
  const inSuite = (kind: string) => {
    if (!current) throw new Error(`${kind}() outside a suite()`);
    return current;
  };
  g.suite = (name: string, body: () => void) => {
    current = { name, tests: [], suiteSetup: [], suiteTeardown: [], setup: [], teardown: [] };
    suites.push(current);
    body();
    current = undefined;
  };
  g.test = (name: string, fn: Fn) => inSuite('test').tests.push({ name, fn });
  for (const hook of ['suiteSetup', 'suiteTeardown', 'setup', 'teardown'] as const) {
    g[hook] = (fn: Fn) => inSuite(hook)[hook].push(fn);
  }

  // The bundled suites sit next to this file as *.test.js.
  for (const f of readdirSync(__dirname).filter((n) => n.endsWith('.test.js')).sort()) require(join(__dirname, f));

  let passed = 0;
  const failures: string[] = [];
  for (const s of suites) {
    console.log(s.name);
    try {
      for (const h of s.suiteSetup) await withTimeout(h, `${s.name} suiteSetup`);
    } catch (e) {
      failures.push(`${s.name} (suiteSetup): ${(e as Error).stack ?? e}`);
      continue;
    }
    for (const t of s.tests) {
      try {
        for (const h of s.setup) await withTimeout(h, `${t.name} setup`);
        await withTimeout(t.fn, t.name);
        for (const h of s.teardown) await withTimeout(h, `${t.name} teardown`);
        passed++;
        console.log(`  ✔ ${t.name}`);
      } catch (e) {
        failures.push(`${s.name} › ${t.name}: ${(e as Error).stack ?? e}`);
        console.log(`  ✖ ${t.name}`);
      }
    }
    for (const h of s.suiteTeardown) await withTimeout(h, `${s.name} suiteTeardown`).catch((e) => failures.push(`${s.name} (suiteTeardown): ${e}`));
  }
  for (const f of failures) console.error(`\n✖ ${f}`);
  console.log(`${passed} passed, ${failures.length} failed`);
  if (failures.length) throw new Error(`${failures.length} in-editor test(s) failed`);
}
