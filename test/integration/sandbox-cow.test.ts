/**
 * Copy-on-write: sandboxes write to private layers; after each command their `write`-level
 * changes are merged into the codebase; other sandboxes see them once refreshed. The same
 * tests run with `--cow overlay` and `--cow copy`, under bubblewrap and under Docker.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Codebase } from '../../src/generated/codebase';
import { getPreset } from '../../src/shared/presets';
import { rootOnly } from '../helpers/privileges';
import { call, rules, startServer, wireRules, type TestServer } from '../helpers/server';
import { settle } from '../helpers/waitFor';
import { RUNTIMES } from '../helpers/runtimes';
import type { ExecOutput } from '../../src/generated/sandbox';

const FULL = wireRules(getPreset('full-access'));

/** Each layer mode under each runtime: a Docker sandbox binds the same layers into its container. */
const VARIANTS = RUNTIMES.flatMap((runtime) => (['overlay', 'copy'] as const).map((mode) => ({ runtime, mode })));

for (const { runtime, mode } of VARIANTS) {
  // A non-root server has no overlay mounts (it refuses --cow overlay) and copies instead.
  const skip = runtime.skip.skip || (mode === 'overlay' && rootOnly('overlay mounts').skip);
  describe(`copy-on-write (--cow ${mode}, ${runtime.name})`, { skip }, () => {
    let server: TestServer;
    before(async () => {
      const setup = await runtime.setUp();
      server = await startServer({ args: ['--cow', mode, ...setup.serverArgs], sandboxDefaults: setup.sandbox });
    });
    after(async () => {
      await server?.stop();
      await runtime.tearDown();
    });

    it('a write is private to its sandbox until merged, then others see it after refresh', async () => {
      const cb = await server.createCodebase({ 'README.md': 'v1\n' });
      const a = await server.startSandbox(cb, FULL);
      const b = await server.startSandbox(cb, FULL);
      // The writer says when it has written, then stays running until the test ends it: the
      // checks below run while its writes are certainly in its layer and not yet merged.
      const writer = server.sandboxes.execStream({
        sandboxId: a,
        command: 'echo from-a > a.txt; echo v2 > README.md; echo written; sleep 300',
        stdin: '',
        env: {},
        workdir: '',
        timeout: undefined,
      });
      writer.on('error', () => {}); // cancelled below
      await new Promise<void>((resolve, reject) => {
        writer.on('data', (o: ExecOutput) => o.data.toString().includes('written') && resolve());
        writer.on('end', () => reject(new Error('the writer ended before it wrote')));
      });
      const during = await server.exec(b, 'cat a.txt 2>&1; cat README.md');
      assert.match(during.stdout, /a\.txt: No such file or directory\nv1\n/);
      assert.equal(await server.download(cb, 'a.txt'), undefined, 'not merged while the command runs');
      writer.cancel(); // the command is killed; what it wrote is merged all the same
      assert.equal(
        await settle(
          () => server.download(cb, 'a.txt'),
          (v) => v !== undefined,
        ),
        'from-a\n',
      );
      assert.equal(await server.download(cb, 'README.md'), 'v2\n');
      const afterMerge = await server.exec(b, 'cat a.txt README.md');
      assert.equal(afterMerge.stdout, 'from-a\nv2\n');
    });

    it('merged files appear in ListFiles and DownloadFile; deletions and renames propagate', async () => {
      const cb = await server.createCodebase({
        'src/app.py': 'app\n',
        'src/util.py': 'util\n',
        'keep.txt': 'k\n',
        'old/x.txt': 'x\n',
        'old/deep/y.txt': 'y\n',
      });
      const sb = await server.startSandbox(cb, FULL);
      await server.exec(sb, 'mkdir -p out/nested && echo made > out/nested/new.txt && rm keep.txt');
      assert.deepEqual(await server.listFiles(cb), [
        'old/deep/y.txt',
        'old/x.txt',
        'out/nested/new.txt',
        'src/app.py',
        'src/util.py',
      ]);
      await server.exec(sb, 'mv src lib && rm -rf old && mkdir old && echo fresh > old/z.txt');
      assert.deepEqual(await server.listFiles(cb), ['lib/app.py', 'lib/util.py', 'old/z.txt', 'out/nested/new.txt']);
      assert.equal(await server.download(cb, 'lib/app.py'), 'app\n');
      // A file created and merged, then removed, is removed from the codebase too.
      await server.exec(sb, 'rm out/nested/new.txt');
      assert.deepEqual(await server.listFiles(cb), ['lib/app.py', 'lib/util.py', 'old/z.txt']);
    });

    it('a command that changes nothing merges nothing', async () => {
      const cb = await server.createCodebase({ 'a.txt': 'a\n' });
      const sb = await server.startSandbox(cb, FULL);
      await server.exec(sb, 'echo b > b.txt');
      const before = await call<Codebase>(server.codebases, server.codebases.getCodebase, { codebaseId: cb });
      await new Promise((r) => setTimeout(r, 20));
      await server.exec(sb, 'cat a.txt b.txt >/dev/null');
      const after = await call<Codebase>(server.codebases, server.codebases.getCodebase, { codebaseId: cb });
      assert.deepEqual(after.updatedAt, before.updatedAt);
    });

    it('writes to non-write paths never reach the codebase', async () => {
      const cb = await server.createCodebase({ 'src/app.py': 'app\n', '.env': 'SECRET=1\n', 'docs/a.md': 'a\n' });
      const sb = await server.startSandbox(
        cb,
        rules(['**/*', 'write'], ['**/.env*', 'none', 100], ['/docs/**', 'read', 50]),
      );
      const r = await server.exec(
        sb,
        'echo fake > .env; echo x > docs/a.md 2>&1; echo y > docs/b.md 2>&1; echo ok > src/app.py; cat .env',
      );
      assert.equal(r.stdout, 'fake\n', 'the sandbox may create a file where a hidden one is; it only sees its own');
      assert.equal(await server.download(cb, '.env'), 'SECRET=1\n');
      assert.equal(await server.download(cb, 'docs/a.md'), 'a\n');
      assert.equal(await server.download(cb, 'docs/b.md'), undefined);
      assert.equal(await server.download(cb, 'src/app.py'), 'ok\n');
    });

    it('symlinks and other non-regular files in a layer are never merged or followed', async () => {
      const cb = await server.createCodebase({ 'a.txt': 'a\n' });
      const sb = await server.startSandbox(cb, FULL);
      await server.exec(
        sb,
        'ln -s /etc etcdir; ln -s /etc/hostname host; mkfifo fifo; mkdir real; echo r > real/r.txt',
      );
      assert.deepEqual(await server.listFiles(cb), ['a.txt', 'real/r.txt']);
    });

    it('an upload reaches an idle sandbox at its next command', async () => {
      const cb = await server.createCodebase({ 'a.txt': 'a\n' });
      const sb = await server.startSandbox(cb, rules(['**/*', 'read']));
      assert.equal((await server.exec(sb, 'ls')).stdout, 'a.txt\n');
      await server.upload(cb, 'b.txt', 'b\n');
      assert.equal((await server.exec(sb, 'ls; cat b.txt')).stdout, 'a.txt\nb.txt\nb\n');
    });

    it('only /output is writable with agent-safe, and its files merge', async () => {
      const cb = await server.createCodebase({ 'src/app.py': 'app\n' });
      const sb = await server.startSandbox(cb, wireRules(getPreset('agent-safe')));
      const r = await server.exec(
        sb,
        'echo report > output/report.txt; echo t > tmp/t.txt; { echo x > src/app.py; } 2>&1; true',
      );
      assert.match(r.stdout, /Read-only file system/);
      assert.equal(await server.download(cb, 'output/report.txt'), 'report\n');
      assert.equal(await server.download(cb, 'tmp/t.txt'), 't\n');
      assert.equal(await server.download(cb, 'src/app.py'), 'app\n');
    });
  });
}
