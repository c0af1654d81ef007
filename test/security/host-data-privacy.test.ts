/**
 * Other local users get nothing from a server's data dir (issue 18, L2 and L3, and the
 * non-root findings): no byte of a codebase, blob, view or layer; no setuid file a sandbox
 * planted gives them the sandbox user; the sandbox user itself cannot change a blob through
 * any host path; and a data dir an older server (or a person) left open is private again
 * after a restart. As root the checks run as `nobody` and as the sandbox uid (setpriv), in
 * overlay and copy mode; as a normal user, by the modes the kernel checks.
 *
 *   node scripts/build.mjs && node --import tsx --test test/security/host-data-privacy.test.ts
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  agentSafeRules,
  SERVER_JS,
  bwrapProcesses,
  startServer,
  uploadSecretFixture,
  waitFor,
  SANDBOX_HOST_UID,
  type ServerHandle,
} from './lib/harness';
import { isRoot, NOBODY, openToOthers, readableAs, runAs, walkHost, writableAs } from './lib/hostAccess';

/** Plants a setuid copy of id(1) in the sandbox's writable output folder. */
const PLANT_SETUID = 'cp /usr/bin/id /workspace/output/idx && chmod 4755 /workspace/output/idx && echo planted';

const modes = isRoot ? ['overlay', 'copy'] : ['copy'];

for (const cow of modes) {
  describe(`host data stays private (${isRoot ? 'root' : 'non-root'} server, --cow ${cow})`, () => {
    let srv: ServerHandle;
    let sandboxId: string;

    before(async () => {
      srv = await startServer({ extraArgs: ['--cow', cow] });
      const fx = await uploadSecretFixture(srv);
      // A write-level file too: in overlay mode those are placed differently from blobs.
      await srv.upload(fx.codebaseId, 'output/report.txt', 'report\n');
      sandboxId = (await srv.createSandbox(fx.codebaseId, agentSafeRules())).id;
      const r = await srv.exec(sandboxId, PLANT_SETUID);
      assert.equal(r.stdout.trim(), 'planted', r.stderr);
    });

    after(async () => {
      await srv?.stop();
    });

    it('other users cannot reach any file or directory below the data dir (by the modes)', () => {
      const open = openToOthers(srv.dataDir, walkHost(srv.dataDir), isRoot ? SANDBOX_HOST_UID : undefined);
      assert.deepEqual(open, []);
    });

    it(
      'nobody can read no file and list no directory of the data dir',
      { skip: !isRoot && 'needs root: switches to nobody with setpriv' },
      () => {
        const entries = walkHost(srv.dataDir);
        assert.ok(
          entries.some((e) => e.path.includes('/blobs/') && e.stat.isFile()),
          'the walk found blobs',
        );
        assert.deepEqual(readableAs(NOBODY, NOBODY, entries), []);
      },
    );

    it(
      'a setuid file the sandbox planted does not give nobody the sandbox uid',
      { skip: !isRoot && 'needs root: switches to nobody with setpriv' },
      () => {
        const planted = walkHost(srv.dataDir).filter(
          (e) => e.stat.isFile() && (e.stat.mode & 0o4000) !== 0 && e.path.endsWith('/idx'),
        );
        assert.ok(planted.length > 0, 'the planted setuid file is in the layer');
        const uids = runAs(
          NOBODY,
          NOBODY,
          'while IFS= read -r p; do "$p" -u 2>/dev/null; done; exit 0',
          planted.map((e) => e.path),
        );
        assert.deepEqual(
          uids.filter((u) => u !== String(NOBODY)),
          [],
        );
      },
    );

    it(
      'every mount below the data dir is nosuid and nodev',
      { skip: cow !== 'overlay' && 'only overlay mode mounts' },
      () => {
        const mounts = readFileSync('/proc/self/mountinfo', 'utf8')
          .split('\n')
          .map((l) => l.split(' '))
          .filter((f) => (f[4] ?? '').startsWith(srv.dataDir + '/'));
        assert.ok(mounts.length > 0, 'the sandbox has an overlay');
        for (const f of mounts)
          (assert.match(f[5]!, /(^|,)nosuid(,|$)/, f[4]), assert.match(f[5]!, /(^|,)nodev(,|$)/, f[4]));
      },
    );

    it(
      'the sandbox uid cannot open a blob for writing through any path in the data dir',
      { skip: !isRoot && 'needs root: switches to the sandbox uid with setpriv' },
      () => {
        const entries = walkHost(srv.dataDir);
        const blobInodes = new Set(
          entries.filter((e) => e.path.includes('/codebases/blobs/') && e.stat.isFile()).map((e) => e.stat.ino),
        );
        assert.ok(blobInodes.size > 0);
        const paths = entries.filter((e) => e.stat.isFile() && blobInodes.has(e.stat.ino)).map((e) => e.path);
        assert.ok(
          paths.some((p) => p.includes('/views/')),
          'views hard-link blobs',
        );
        assert.deepEqual(writableAs(SANDBOX_HOST_UID, SANDBOX_HOST_UID, paths), []);
      },
    );

    it("bwrap's command line names only paths other users cannot reach", async () => {
      const session = await srv.createSession(sandboxId, '/bin/sh');
      try {
        const bwrap = await waitFor(
          () => bwrapProcesses().filter((p) => p.cmd.includes(srv.dataDir + '/')),
          (l) => l.length > 0,
        );
        const named = readFileSync(`/proc/${bwrap[0]!.pid}/cmdline`, 'utf8')
          .split('\0')
          .filter((a) => a.startsWith(srv.dataDir + '/'));
        assert.ok(named.length > 0);
        const entries = walkHost(srv.dataDir);
        const open = openToOthers(srv.dataDir, entries, isRoot ? SANDBOX_HOST_UID : undefined);
        assert.deepEqual(
          open.filter((p) => named.some((n) => p === n || p.startsWith(n + '/'))),
          [],
        );
        if (isRoot)
          assert.deepEqual(
            readableAs(
              NOBODY,
              NOBODY,
              entries.filter((e) => named.some((n) => e.path === n || e.path.startsWith(n + '/'))),
            ),
            [],
          );
      } finally {
        await srv.destroySession(session.id);
      }
    });
  });
}

describe('a data dir left open is private again after a restart', () => {
  let srv: ServerHandle | undefined;
  after(async () => {
    await srv?.stop();
  });

  it('modes (and, as root, blob owners) are repaired at start', async () => {
    srv = await startServer({ extraArgs: ['--cow', 'copy'] });
    const fx = await uploadSecretFixture(srv);
    await srv.createSandbox(fx.codebaseId, agentSafeRules());
    await srv.stop({ keepData: true });
    // What an older server left: everything open, blobs owned by the sandbox uid.
    for (const e of walkHost(srv.dataDir)) {
      if (e.stat.isSymbolicLink()) continue;
      chmodSync(e.path, e.stat.isDirectory() ? 0o755 : e.stat.mode | 0o044);
      if (isRoot && e.path.includes('/blobs/') && e.stat.isFile())
        chownSync(e.path, SANDBOX_HOST_UID, SANDBOX_HOST_UID);
    }
    assert.notDeepEqual(openToOthers(srv.dataDir, walkHost(srv.dataDir)), []);
    await srv.restart();
    srv.connect();
    await srv.waitReady();
    const entries = walkHost(srv.dataDir);
    assert.deepEqual(openToOthers(srv.dataDir, entries, isRoot ? SANDBOX_HOST_UID : undefined), []);
    if (isRoot) {
      const blobs = entries.filter((e) => e.path.includes('/blobs/') && e.stat.isFile());
      assert.ok(blobs.length > 0);
      assert.deepEqual(
        blobs.filter((e) => e.stat.uid !== 0).map((e) => e.path),
        [],
      );
    }
  });
});

describe("the sandbox group is the sandbox user's alone", () => {
  it(
    'a --sandbox-uid whose group other accounts share is refused',
    { skip: !isRoot && 'needs root: --sandbox-uid applies to root servers only' },
    () => {
      // gid 65534 (nogroup on Debian) is the primary group of other accounts, e.g. _apt and sync.
      const shared = readFileSync('/etc/passwd', 'utf8')
        .split('\n')
        .filter((l) => l.split(':')[3] === '65534' && l.split(':')[2] !== '65534');
      assert.ok(shared.length > 0, 'this test expects an account besides nobody in group 65534');
      const dir = mkdtempSync(join(tmpdir(), 'af-group-'));
      try {
        const r = spawnSync(
          process.execPath,
          [SERVER_JS, '--listen', `unix:${dir}/sock`, '--data-dir', join(dir, 'data'), '--sandbox-uid', '65534'],
          {
            encoding: 'utf8',
            timeout: 10_000,
          },
        );
        assert.equal(r.status, 2, r.stderr);
        assert.match(r.stderr, /group \(gid 65534\) is shared with/);
        assert.equal(existsSync(join(dir, 'data')), false, 'nothing was created');
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );
});
