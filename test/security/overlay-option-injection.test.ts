/**
 * A directory name the sandbox chose never becomes part of overlay mount options (issue 18,
 * L1). At ac72d74 a writable directory named `a:<data-dir>/codebases/blobs` added the blob
 * store as a lower layer of the sandbox's overlay, and the sandbox read every codebase's
 * hidden files through it. Run in both layer modes (copy mode never mounted, and must stay
 * as immune).
 *
 *   node scripts/build.mjs && node --import tsx --test test/security/overlay-option-injection.test.ts
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  presetRules,
  startServer,
  toWireRules,
  uploadSecretFixture,
  type SecretFixture,
  type ServerHandle,
} from './lib/harness';
import { isRoot } from './lib/hostAccess';

const modes = isRoot ? ['overlay', 'copy'] : ['copy'];

for (const cow of modes) {
  describe(`overlay options carry no sandbox-chosen path (--cow ${cow})`, () => {
    let srv: ServerHandle;
    let fx: SecretFixture;

    before(async () => {
      srv = await startServer({ extraArgs: ['--cow', cow] });
      fx = await uploadSecretFixture(srv);
      await srv.upload(fx.codebaseId, 'logs/app.log', 'started\n');
    });

    after(async () => {
      await srv?.stop();
    });

    it('a writable directory named "a:<data-dir>/codebases/blobs" does not expose the blob store', async () => {
      const rules = [
        ...presetRules('agent-safe'),
        ...toWireRules([{ pattern: '**/*.log', permission: 'write', priority: 20, type: 'glob' }]),
      ];
      const sb = (await srv.createSandbox(fx.codebaseId, rules)).id;
      const evil = `a:${srv.dataDir}/codebases/blobs`;
      // Planted and merged: the names become codebase directories, so writable roots.
      const plant = await srv.exec(
        sb,
        `cd /workspace/logs && mkdir -p a '${evil}' && echo > a/z.log && echo > '${evil}/y.log' && rm app.log && echo planted`,
      );
      assert.equal(plant.stdout.trim(), 'planted', plant.stderr);
      assert.ok(
        (await srv.listFiles(fx.codebaseId)).some((f) => f.path === `logs/${evil}/y.log`),
        'the planted name was merged',
      );
      await srv.unary('sandbox', 'stopSandbox', { sandboxId: sb });
      await srv.unary('sandbox', 'startSandbox', { sandboxId: sb });
      const r = await srv.exec(sb, `ls -A '/workspace/logs/${evil}/'; grep -rh . /workspace/logs/ 2>&1; echo exit=$?`);
      const seen = r.stdout + r.stderr;
      assert.match(r.stdout, /exit=/, 'the command ran');
      assert.deepEqual(
        fx.canaries.filter((c) => seen.includes(c)),
        [],
        seen.slice(0, 2000),
      );
      // Only the planted file is there: no blob names (64 hex digits) and no fan-out dirs.
      assert.doesNotMatch(seen, /\b[0-9a-f]{64}\b/);
      assert.doesNotMatch(r.stdout.split('\n')[0] ?? '', /\b[0-9a-f]{2}\b/);
    });
  });
}
