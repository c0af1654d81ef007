/** The in-memory manifest, directory listings and page tokens, without disk or gRPC. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { status } from '@grpc/grpc-js';
import { Manifest } from '../../src/server/codebase/manifest';
import { listDirectory } from '../../src/server/codebase/fileListing';
import { decodePageToken, encodePageToken, isAfterCursor, resolvePageSize } from '../../src/server/rpc/paging';
import { isCodebaseId, newCodebaseId } from '../../src/server/codebase/codebaseId';
import { RpcError } from '../../src/server/rpc/rpcError';

const entry = (path: string, size = 1, mtimeMs = 1000) => ({
  path,
  size,
  mode: 0o644,
  digest: 'd'.repeat(64),
  mtimeMs,
});

function manifestOf(...paths: string[]): Manifest {
  const m = new Manifest('cb_0000000000000000');
  for (const p of paths) m.set(p, entry(p));
  return m;
}

describe('Manifest', () => {
  it('derives directories from file paths and forgets them when emptied', () => {
    const m = manifestOf('a/b/c.txt', 'a/d.txt');
    assert.ok(m.isDirectory(''));
    assert.ok(m.isDirectory('a'));
    assert.ok(m.isDirectory('a/b'));
    assert.ok(!m.isDirectory('a/d.txt'));
    m.set('a/b/c.txt', undefined);
    assert.ok(!m.isDirectory('a/b'));
    assert.ok(m.isDirectory('a'));
    m.set('a/d.txt', undefined);
    assert.ok(!m.isDirectory('a'));
  });

  it('reports file/directory conflicts', () => {
    const m = manifestOf('file', 'dir/x');
    assert.match(m.fileConflict('file/child')!, /"file" is a file/);
    assert.match(m.fileConflict('file/a/b')!, /"file" is a file/);
    assert.match(m.fileConflict('dir')!, /"dir" is a directory/);
    assert.equal(m.fileConflict('dir/y'), undefined);
    assert.equal(m.fileConflict('file'), undefined, 'overwriting a file is fine');
    assert.equal(m.fileConflict('filename'), undefined, 'a prefix that is not a parent is no conflict');
  });

  it('tracks size and count through overwrite and removal', () => {
    const m = new Manifest('cb_0000000000000000');
    m.set('a', entry('a', 10));
    m.set('b', entry('b', 5));
    m.set('a', entry('a', 3));
    assert.deepEqual([m.fileCount, m.totalSize], [2, 8]);
    m.set('b', undefined);
    m.set('missing', undefined);
    assert.deepEqual([m.fileCount, m.totalSize], [1, 3]);
  });

  it('caches snapshots until a change and versions them by sequence', () => {
    const m = manifestOf('a');
    const s1 = m.snapshot();
    assert.equal(m.snapshot(), s1);
    m.set('b', entry('b'));
    m.advanceTo(1);
    const s2 = m.snapshot();
    assert.notEqual(s2, s1);
    assert.notEqual(s2.version, s1.version);
    assert.deepEqual([...s1.entries.keys()], ['a']);
    assert.ok(Object.isFrozen(s2));
  });

  it('keeps the cached snapshot across an undone trial', () => {
    const m = manifestOf('a');
    const s1 = m.snapshot();
    const restore = m.keepSnapshotAcrossTrial();
    const previous = m.set('z', entry('z'));
    m.set('z', previous);
    restore();
    assert.equal(m.snapshot(), s1);
  });
});

describe('listDirectory', () => {
  const m = new Manifest('cb_0000000000000000');
  m.set('z.txt', entry('z.txt', 4, 10));
  m.set('src/a.ts', entry('src/a.ts', 2, 20));
  m.set('src/lib/b.ts', entry('src/lib/b.ts', 3, 50));
  m.set('src-other/c.ts', entry('src-other/c.ts', 1, 5));

  it('lists one level with derived directories carrying their newest mtime', () => {
    const listing = listDirectory(m, '', false);
    assert.deepEqual(
      listing.map((f) => [f.path, f.isDir, f.size, f.modifiedAtMs]),
      [
        ['src', true, 0, 50],
        ['src-other', true, 0, 5],
        ['z.txt', false, 4, 10],
      ],
    );
  });

  it('does not confuse a sibling sharing a name prefix with a child', () => {
    assert.deepEqual(
      listDirectory(m, 'src', true).map((f) => f.path),
      ['src/a.ts', 'src/lib', 'src/lib/b.ts'],
    );
  });
});

describe('page tokens and sizes', () => {
  const expectInvalid = (fn: () => unknown) =>
    assert.throws(fn, (e: unknown) => e instanceof RpcError && e.code === status.INVALID_ARGUMENT);

  it('round-trips a cursor and orders by (createdAt, id)', () => {
    const cursor = { createdAtMs: 1700000000000, id: 'cb_00000000000000ab' };
    assert.deepEqual(decodePageToken(encodePageToken(cursor)), cursor);
    assert.equal(decodePageToken(''), undefined);
    assert.ok(isAfterCursor({ createdAtMs: cursor.createdAtMs, id: 'cb_00000000000000ac' }, cursor));
    assert.ok(!isAfterCursor(cursor, cursor));
    assert.ok(isAfterCursor({ createdAtMs: cursor.createdAtMs + 1, id: 'cb_0' }, cursor));
  });

  it('rejects malformed tokens', () => {
    for (const bad of [
      '!!!',
      Buffer.from('{"a":1}').toString('base64url'),
      Buffer.from('[1]').toString('base64url'),
      Buffer.from('["x","y"]').toString('base64url'),
    ]) {
      expectInvalid(() => decodePageToken(bad));
    }
  });

  it('applies the page-size rules', () => {
    assert.equal(resolvePageSize(0), 100);
    assert.equal(resolvePageSize(7), 7);
    assert.equal(resolvePageSize(5000), 1000);
    expectInvalid(() => resolvePageSize(-1));
  });
});

describe('codebase ids', () => {
  it('are cb_ plus 16 hex chars, and nothing else qualifies', () => {
    const id = newCodebaseId();
    assert.match(id, /^cb_[0-9a-f]{16}$/);
    assert.notEqual(newCodebaseId(), id);
    assert.ok(isCodebaseId(id));
    for (const bad of ['cb_123', '../cb_0000000000000000', 'cb_000000000000000G', 'tmp', 'blobs'])
      assert.ok(!isCodebaseId(bad), bad);
  });
});
