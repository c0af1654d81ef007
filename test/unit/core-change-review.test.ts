import assert from 'node:assert/strict';
import { test } from 'node:test';
import { confirmChanges, findChangeCandidates, remoteSignature } from '../../src/core/review/changeComputation';
import { contentKind, isBinary } from '../../src/extension/review/contentKind';
import { buildIgnoreMatcher } from '../../src/core/review/ignoreMatcher';
import { emptyIndex, matchesIndex, planUpload, type UploadIndex } from '../../src/core/sync/uploadIndex';

function index(): UploadIndex {
  const i = emptyIndex('cb_1', '/w');
  i.files['a.txt'] = { size: 3, mtimeMs: 10, sha256: 'A', remoteMtimeMs: 1000 };
  i.files['b.txt'] = { size: 3, mtimeMs: 10, sha256: 'B', remoteMtimeMs: 1000 };
  i.files['c.txt'] = { size: 3, mtimeMs: 10, sha256: 'C', remoteMtimeMs: 1000 };
  return i;
}

test('planUpload: nothing changed → nothing to do', () => {
  const plan = planUpload(index(), [
    { path: 'a.txt', size: 3, mtimeMs: 10 },
    { path: 'b.txt', size: 3, mtimeMs: 10 },
    { path: 'c.txt', size: 3, mtimeMs: 10 },
  ]);
  assert.equal(plan.fresh, false);
  assert.deepEqual(plan.candidates, []);
});

test('planUpload: touched and new files are candidates; a deletion needs a fresh codebase', () => {
  const plan = planUpload(index(), [
    { path: 'a.txt', size: 3, mtimeMs: 11 },
    { path: 'b.txt', size: 3, mtimeMs: 10 },
    { path: 'c.txt', size: 3, mtimeMs: 10 },
    { path: 'd.txt', size: 1, mtimeMs: 1 },
  ]);
  assert.deepEqual(
    plan.candidates.map((c) => c.path),
    ['a.txt', 'd.txt'],
  );
  const gone = planUpload(index(), [{ path: 'a.txt', size: 3, mtimeMs: 10 }]);
  assert.equal(gone.fresh, true);
  assert.equal(gone.freshReason, 'deleted-locally');
  assert.deepEqual(gone.deleted, ['b.txt', 'c.txt']);
  assert.equal(planUpload(undefined, []).freshReason, 'first-upload');
});

test('matchesIndex compares size and mtime', () => {
  const e = index().files['a.txt'];
  assert.equal(matchesIndex(e, { size: 3, mtimeMs: 10 }), true);
  assert.equal(matchesIndex(e, { size: 3, mtimeMs: 12 }), false);
  assert.equal(matchesIndex(e, undefined), false);
  assert.equal(matchesIndex(undefined, undefined), true);
});

test('change candidates: added, deleted, size change certain; same-size touch needs hashing', () => {
  const c = findChangeCandidates(index(), [
    { path: 'a.txt', isDir: false, size: 3, modifiedAtMs: 1000 }, // untouched
    { path: 'b.txt', isDir: false, size: 4, modifiedAtMs: 2000 }, // size changed
    { path: 'new.txt', isDir: false, size: 1, modifiedAtMs: 2000 },
    { path: 'dir', isDir: true, size: 0, modifiedAtMs: 2000 },
  ]);
  assert.deepEqual(
    c.map((x) => [x.path, x.kind, x.certain]),
    [
      ['b.txt', 'modified', true],
      ['c.txt', 'deleted', true],
      ['new.txt', 'added', true],
    ],
  );
  const touched = findChangeCandidates(index(), [
    { path: 'a.txt', isDir: false, size: 3, modifiedAtMs: 3000 },
    { path: 'b.txt', isDir: false, size: 3, modifiedAtMs: 1000 },
    { path: 'c.txt', isDir: false, size: 3, modifiedAtMs: 1000 },
  ]);
  assert.deepEqual(
    touched.map((x) => [x.path, x.certain]),
    [['a.txt', false]],
  );
});

test('ignored and discarded paths are left out', () => {
  const isIgnored = buildIgnoreMatcher([], ['build/']);
  const remote = [
    { path: 'a.txt', isDir: false, size: 3, modifiedAtMs: 1000 },
    { path: 'b.txt', isDir: false, size: 3, modifiedAtMs: 1000 },
    { path: 'c.txt', isDir: false, size: 3, modifiedAtMs: 1000 },
    { path: 'node_modules/x/index.js', isDir: false, size: 1, modifiedAtMs: 5 },
    { path: 'build/out.o', isDir: false, size: 1, modifiedAtMs: 5 },
    { path: 'kept.txt', isDir: false, size: 7, modifiedAtMs: 9 },
  ];
  const discarded = new Map([['kept.txt', remoteSignature(7, 9)]]);
  assert.deepEqual(findChangeCandidates(index(), remote, { isIgnored, discarded }), []);
  const shown = findChangeCandidates(index(), remote, { isIgnored, showIgnored: true, discarded });
  assert.deepEqual(
    shown.map((c) => c.path),
    ['build/out.o', 'node_modules/x/index.js'],
  );
  // The sandbox changed the discarded file again: it is back.
  const again = findChangeCandidates(
    index(),
    [...remote.slice(0, 3), { path: 'kept.txt', isDir: false, size: 8, modifiedAtMs: 10 }],
    { discarded },
  );
  assert.deepEqual(
    again.map((c) => c.path),
    ['kept.txt'],
  );
});

test('confirmChanges hashes only uncertain candidates; equal content is not a change', async () => {
  const i = index();
  const candidates = findChangeCandidates(i, [
    { path: 'a.txt', isDir: false, size: 3, modifiedAtMs: 3000 }, // same bytes
    { path: 'b.txt', isDir: false, size: 3, modifiedAtMs: 3000 }, // different bytes
    { path: 'c.txt', isDir: false, size: 9, modifiedAtMs: 3000 }, // certain
  ]);
  const hashed: string[] = [];
  const result = await confirmChanges(i, candidates, async (p) => {
    hashed.push(p);
    return p === 'a.txt' ? 'A' : 'other';
  });
  assert.deepEqual(hashed.sort(), ['a.txt', 'b.txt']);
  assert.deepEqual(
    result.changes.map((c) => c.path),
    ['b.txt', 'c.txt'],
  );
  assert.deepEqual(result.sameContent, [{ path: 'a.txt', remoteMtimeMs: 3000 }]);
});

test('binary and size checks decide whether a text diff is shown', () => {
  assert.equal(isBinary(Buffer.from('hello\nwörld')), false);
  assert.equal(isBinary(Buffer.from([0x68, 0, 0x69])), true);
  assert.equal(isBinary(Buffer.from([0xff, 0xfe, 0x41])), true);
  // A multi-byte character cut at the 8 KB sniff boundary is still text.
  const big = Buffer.concat([Buffer.alloc(8191, 0x61), Buffer.from('é'), Buffer.alloc(10, 0x61)]);
  assert.equal(isBinary(big), false);
  assert.equal(contentKind(undefined, 3_000_000, 2_000_000), 'too-large');
  assert.equal(contentKind(Buffer.from('x'), 1, 2_000_000), 'text');
});

test('confirmChanges: a change hashed by an earlier refresh and untouched since is not downloaded again', async () => {
  const i = index();
  const candidates = findChangeCandidates(i, [
    { path: 'a.txt', isDir: false, size: 3, modifiedAtMs: 2000 },
    { path: 'b.txt', isDir: false, size: 3, modifiedAtMs: 2000 },
    { path: 'c.txt', isDir: false, size: 3, modifiedAtMs: 1000 },
  ]);
  const hashed: string[] = [];
  const hashRemote = async (p: string) => (hashed.push(p), `new-${p}`);
  const first = await confirmChanges(i, candidates, hashRemote);
  assert.deepEqual(hashed.sort(), ['a.txt', 'b.txt']);
  hashed.length = 0;
  // b.txt was touched again since (another time): only it is hashed; a.txt keeps its verdict.
  const again = findChangeCandidates(i, [
    { path: 'a.txt', isDir: false, size: 3, modifiedAtMs: 2000 },
    { path: 'b.txt', isDir: false, size: 3, modifiedAtMs: 3000 },
    { path: 'c.txt', isDir: false, size: 3, modifiedAtMs: 1000 },
  ]);
  const second = await confirmChanges(i, again, hashRemote, { known: first.changes });
  assert.deepEqual(hashed, ['b.txt']);
  assert.deepEqual(
    second.changes.map((c) => [c.path, c.sha256]),
    [
      ['a.txt', 'new-a.txt'],
      ['b.txt', 'new-b.txt'],
    ],
  );
});
