/**
 * A sandbox's work never blocks the server's event loop (issue 18, D1–D4): while a sandbox
 * makes a 6 GB sparse file, 100 000 files, a 3 000-level directory or a path that conflicts
 * with a hidden file, a second client's ListCodebases every 50 ms keeps answering. Before the
 * fix, each of these froze every client for 8–30 s. Also: bounds refuse only the offending
 * paths (with a note on stderr) and merge the rest, a bad layer does not stop the server from
 * starting and can be removed, and one conflicting path does not disable merging.
 *
 *   node --import tsx --test test/reliability/event-loop.test.ts
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Codebase } from '../../src/generated/codebase';
import type { ExecResult } from '../../src/generated/sandbox';
import { call, rules, startServer, type TestServer } from '../helpers/server';
import { describeReport, Watchdog, type WatchdogReport } from '../helpers/watchdog';
import { withFileLock } from '../e2e/harness/fileLock';

/**
 * The requirement is p99 < 100 ms on an idle machine; these margins absorb a loaded 2-core
 * machine shared with other test runs, and still fail by far on a freeze of seconds.
 */
const P99_LIMIT_MS = 300;
const MAX_LIMIT_MS = 2_000;
/**
 * Fewer than the red team's 100 000 (which take minutes to make and merge on a loaded 2-core
 * machine): the old code froze ~3 s for these even on an idle one, so the bound still fails it.
 */
const MANY_FILES = 20_000;
const DEPTH = 3_000;
/** Only one CPU-heavy test file at a time (across processes), so the p99 is ours to judge. */
const CPU_LOCK = join(tmpdir(), 'agentfense-cpu-heavy-tests.lock');

// Everything writable, one hidden file (`.env`), so that D4 can aim at it.
const RULES = rules(['**/*', 'write'], ['.env', 'none', 10, 'file']);

async function watched(
  server: TestServer,
  work: () => Promise<ExecResult>,
): Promise<{ result: ExecResult; report: WatchdogReport }> {
  const dog = await new Watchdog(server.address).start();
  try {
    const result = await work();
    return { result, report: await dog.stop() };
  } catch (err) {
    await dog.stop();
    throw err;
  }
}

function assertResponsive(what: string, report: WatchdogReport): void {
  console.log(`watchdog during ${what}: ${describeReport(report)}`);
  // A quick run gives few calls; a freeze cannot hide: the call it delays is waited for.
  assert.ok(report.calls >= 1, `no watchdog call during ${what}`);
  assert.equal(report.errors, 0, `watchdog calls failed during ${what}`);
  assert.ok(report.p99 < P99_LIMIT_MS, `the server stalled during ${what}: ${describeReport(report)}`);
  assert.ok(report.max < MAX_LIMIT_MS, `the server froze during ${what}: ${describeReport(report)}`);
}

describe('the event loop stays free while a sandbox works', { timeout: 20 * 60_000 }, () => {
  let server: TestServer;
  let codebase: string;
  let sandbox: string;
  let release: () => void = () => {};

  before(async () => {
    // Held for the whole file: released in after().
    await new Promise<void>((locked) => {
      void withFileLock(
        CPU_LOCK,
        () =>
          new Promise<void>((done) => {
            release = done;
            locked();
          }),
        20 * 60_000,
      );
    });
    server = await startServer();
    codebase = await server.createCodebase({
      'src/app.py': 'print(1)\n',
      '.env': 'SECRET=1\n',
      'output/keep.txt': 'keep\n',
    });
    sandbox = await server.startSandbox(codebase, RULES);
  });

  after(async () => {
    await server?.stop().catch(() => {});
    release();
  });

  test('D1: a 6 GB sparse file is refused with a note, the rest is merged, and nobody waits', async () => {
    const { result, report } = await watched(server, () =>
      server.exec(sandbox, 'truncate -s 6G output/big && echo small > output/small.txt', {
        timeout: { seconds: 600, nanos: 0 },
      }),
    );
    assert.equal(result.exitCode, 0, result.stderr);
    assert.match(result.stderr, /not merged: output\/big: .*(--max-merge-bytes|--layer-quota)/);
    assert.equal(await server.download(codebase, 'output/small.txt'), 'small\n');
    assert.equal(await server.download(codebase, 'output/big'), undefined);
    assertResponsive('D1 (truncate -s 6G)', report);
    await server.exec(sandbox, 'rm -f output/big');
  });

  test(`D2: ${MANY_FILES} empty files are merged while other clients are served`, async () => {
    const { result, report } = await watched(server, () =>
      server.exec(sandbox, `mkdir -p output/many && cd output/many && seq 1 ${MANY_FILES} | xargs touch`, {
        timeout: { seconds: 900, nanos: 0 },
      }),
    );
    assert.equal(result.exitCode, 0, result.stderr);
    const info = await call<Codebase>(server.codebases, server.codebases.getCodebase, { codebaseId: codebase });
    assert.ok(info.fileCount >= MANY_FILES, `only ${info.fileCount} files in the codebase`);
    assertResponsive(`D2 (${MANY_FILES} files)`, report);
    await server.exec(sandbox, 'rm -rf output/many', { timeout: { seconds: 900, nanos: 0 } });
  });

  test(`D3: a ${DEPTH}-level directory is cut at the depth bound, later merges stay fast, a restart works and the layer can be removed`, async () => {
    // A shell's `cd` gives up near PATH_MAX (it tracks the full path); chdir one level at a time does not.
    const deep = `mkdir -p output/deep && cd output/deep && python3 -c 'import os\nfor _ in range(${DEPTH}): os.mkdir("d"); os.chdir("d")\nopen("f", "w").write("bottom")'`;
    const first = await watched(server, () => server.exec(sandbox, deep, { timeout: { seconds: 900, nanos: 0 } }));
    assert.equal(first.result.exitCode, 0, first.result.stderr);
    assert.match(
      first.result.stderr,
      /not merged: output\/deep\/d(\/d)*: deeper than \d+ path components \(--max-merge-depth\)/,
    );
    assertResponsive(`D3 (${DEPTH}-level directory)`, first.report);

    const later = await watched(server, () => server.exec(sandbox, 'echo after > output/after.txt'));
    assert.equal(later.result.exitCode, 0, later.result.stderr);
    assert.equal(await server.download(codebase, 'output/after.txt'), 'after\n');
    assertResponsive('a merge after D3', later.report);

    // A crash leaves the layer on disk as the sandbox shaped it; the next start must cope.
    const { dataDir } = server;
    await server.stop('SIGKILL', { keepDir: true });
    server = await startServer({ dataDir });
    const sandboxDir = join(dataDir, 'sandboxes', sandbox);
    await call(server.sandboxes, server.sandboxes.destroySandbox, { sandboxId: sandbox });
    assert.equal(existsSync(sandboxDir), false, 'the sandbox dir is still there after DestroySandbox');
    sandbox = await server.startSandbox(codebase, RULES);
  });

  test('D4: a path that conflicts with a hidden file is reported and skipped; merging goes on', async () => {
    const { result, report } = await watched(server, () =>
      server.exec(sandbox, 'mkdir .env && echo 1 > .env/x && echo 4 > output/d4.txt'),
    );
    assert.equal(result.exitCode, 0, result.stderr);
    assert.match(result.stderr, /not merged: \.env\/x: /);
    assert.equal(await server.download(codebase, 'output/d4.txt'), '4\n');
    assertResponsive('D4 (conflicting path)', report);
    for (const n of [1, 2]) {
      const r = await server.exec(sandbox, `echo ${n} > output/later-${n}.txt`);
      assert.equal(r.exitCode, 0, r.stderr);
      assert.equal(await server.download(codebase, `output/later-${n}.txt`), `${n}\n`);
    }
    assert.equal(await server.download(codebase, '.env'), 'SECRET=1\n', 'the hidden file must be untouched');
  });
});
