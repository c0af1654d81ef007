/**
 * The data dir and the socket stay out of the host directories every sandbox sees read-only
 * (issue 18, W5): at ac72d74 `--data-dir /etc/opt/af` was accepted and a sandbox read the
 * blobs through its /etc bind. The server refuses with a clear message and creates nothing,
 * whoever runs it; symlinks are resolved, so a path that only leads into /usr is refused too.
 * (`--data-dir /` is refused as well, but deliberately not tested: a server without the fix,
 * run as root, chmods / and lazily unmounts every mount of the host.)
 *
 *   node scripts/build.mjs && node --import tsx --test test/security/bound-data-dir.test.ts
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SERVER_JS } from './lib/harness';

const run = (...args: string[]) =>
  spawnSync(process.execPath, [SERVER_JS, ...args], { encoding: 'utf8', timeout: 10_000 });

describe('data dir and socket outside the directories bound into sandboxes', () => {
  let dir: string;
  /** What a server without the check would create outside `dir`: removed whatever happens. */
  const outside: string[] = [];
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'af-bound-'));
  });
  after(() => {
    for (const p of [dir, ...outside]) rmSync(p, { recursive: true, force: true });
  });

  it('--data-dir under /etc is refused and not created', () => {
    const dataDir = `/etc/opt/af-${randomBytes(4).toString('hex')}`;
    outside.push(dataDir);
    const r = run('--listen', `unix:${join(dir, 'a.sock')}`, '--data-dir', dataDir);
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /--data-dir \/etc\/opt\/af-[0-9a-f]+ overlaps \/etc, which every sandbox sees read-only/);
    assert.equal(existsSync(dataDir), false);
    assert.equal(existsSync(join(dir, 'a.sock')), false);
  });

  it('--data-dir reached through a symlink into /usr is refused and not created', () => {
    symlinkSync('/usr/share', join(dir, 'link'));
    const name = `af-${randomBytes(4).toString('hex')}`;
    outside.push(join('/usr/share', name));
    const r = run('--listen', `unix:${join(dir, 'b.sock')}`, '--data-dir', join(dir, 'link', name));
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /overlaps \/usr, which every sandbox sees read-only/);
    assert.equal(existsSync(join('/usr/share', name)), false);
  });

  it('a socket under /etc is refused, and nothing is created', () => {
    const sock = `/etc/af-${randomBytes(4).toString('hex')}.sock`;
    outside.push(sock);
    const r = run('--listen', `unix:${sock}`, '--data-dir', join(dir, 'data'));
    assert.equal(r.status, 2, r.stderr);
    assert.match(
      r.stderr,
      /--listen unix:\/etc\/af-[0-9a-f]+\.sock is inside \/etc, which every sandbox sees read-only/,
    );
    assert.equal(existsSync(sock), false);
    assert.equal(existsSync(join(dir, 'data')), false);
  });
});
