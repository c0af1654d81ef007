/**
 * Where the extension's embedded server keeps its data and socket (issue 18, "a server that
 * is not root"). At ac72d74 a normal user's data went to /tmp/agentfense-data-<uid>-<hash>
 * whenever a folder above globalStorage was 0700 (as a home directory usually is), and the
 * socket folder in /tmp was used even when someone else had created it first.
 *
 *   node --import tsx --test test/security/extension-data-dir.test.ts
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { chownSync, mkdirSync, statSync, mkdtempSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dataDirFor, socketPathFor } from '../../src/client/embedded/serverLifecycle';
import { isRoot, NOBODY } from './lib/hostAccess';

/** The temp-dir folder socketPathFor falls back to for a storage path too long for a socket. */
const socketDirOf = (storage: string) =>
  join(tmpdir(), `agentfense-${process.getuid!()}-${createHash('sha256').update(storage).digest('hex').slice(0, 10)}`);

describe("the extension keeps its server's data and socket private", () => {
  let home: string;
  before(() => {
    // A private folder above globalStorage, as a 0700 home directory is.
    home = mkdtempSync(join(tmpdir(), 'af-home-'));
  });
  after(() => {
    rmSync(home, { recursive: true, force: true });
  });

  it(
    "a normal user's data dir is <globalStorage>/data, never a folder in the temp dir",
    { skip: isRoot && 'a root server needs o+x above its data dir, so root keeps the temp-dir fallback' },
    () => {
      const storage = join(home, 'globalStorage', 'agentfense');
      mkdirSync(storage, { recursive: true, mode: 0o700 });
      const before = new Set(readdirSync(tmpdir()));
      assert.equal(dataDirFor(storage), join(storage, 'data'));
      assert.deepEqual(
        readdirSync(tmpdir()).filter((n) => !before.has(n) && n.startsWith('agentfense-data-')),
        [],
      );
    },
  );

  it('a socket folder in the temp dir that is a symlink planted by someone is refused', () => {
    const storage = join(home, 'x'.repeat(120));
    const dir = socketDirOf(storage);
    const elsewhere = mkdtempSync(join(tmpdir(), 'af-elsewhere-'));
    try {
      symlinkSync(elsewhere, dir);
      assert.throws(() => socketPathFor(storage), /is not a directory \(a symlink\?\); refusing to use it/);
    } finally {
      rmSync(dir, { force: true });
      rmSync(elsewhere, { recursive: true, force: true });
    }
  });

  it(
    'a socket folder in the temp dir created first by another user is refused',
    { skip: !isRoot && 'needs root: only root can make a folder owned by another user' },
    () => {
      const storage = join(home, 'y'.repeat(120));
      const dir = socketDirOf(storage);
      try {
        mkdirSync(dir, { mode: 0o777 });
        chownSync(dir, NOBODY, NOBODY);
        assert.throws(() => socketPathFor(storage), new RegExp(`belongs to uid ${NOBODY}, not to you`));
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );

  it('our own socket folder left open gets 0700 back, and the socket path stays short', () => {
    const storage = join(home, 'z'.repeat(120));
    const dir = socketDirOf(storage);
    try {
      mkdirSync(dir, { mode: 0o755 });
      const sock = socketPathFor(storage);
      assert.equal(sock, join(dir, 'server.sock'));
      assert.ok(Buffer.byteLength(sock) <= 100);
      assert.equal(statSync(dir).mode & 0o777, 0o700);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
