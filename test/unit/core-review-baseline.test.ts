// The review baseline (src/core/review/reviewBaseline.ts): one writer at a time, nothing taken
// from an edit that failed, and what is saved comes back in a new store, private to the user.
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { BaselineStore } from '../../src/core/review/reviewBaseline';
import { emptyIndex } from '../../src/core/sync/uploadIndex';
import { settle } from '../helpers/waitFor';

let dir: string;
before(async () => (dir = await mkdtemp(join(tmpdir(), 'af-baseline-'))));
after(() => rm(dir, { recursive: true, force: true }));

const root = { name: 'w', path: '/w' };

describe('FolderBaseline', () => {
  it('runs edits of one folder one at a time, in the order they were asked for', async () => {
    const baseline = new BaselineStore(join(dir, 'order'), () => 'embedded').of(root);
    const events: string[] = [];
    let releaseFirst!: () => void;
    const firstMayEnd = new Promise<void>((resolve) => (releaseFirst = resolve));
    const first = baseline.edit(async () => {
      events.push('first starts');
      await firstMayEnd;
      events.push('first ends');
    });
    const second = baseline.edit(async () => void events.push('second runs'));
    await settle(
      () => events.length,
      (n) => n > 0,
    );
    // The second edit is free to run now unless the baseline holds it back: give it turns.
    for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(events, ['first starts']);
    releaseFirst();
    await Promise.all([first, second]);
    assert.deepEqual(events, ['first starts', 'first ends', 'second runs']);
  });

  it('keeps nothing of an edit that threw, and the next edit still runs', async () => {
    const baseline = new BaselineStore(join(dir, 'throw'), () => 'embedded').of(root);
    await baseline.edit(async (draft) => {
      draft.index = emptyIndex('cb_1', root.path);
      draft.index.files['a.txt'] = { size: 1, mtimeMs: 1, sha256: 'A' };
    });
    await assert.rejects(
      baseline.edit(async (draft) => {
        draft.index!.files['a.txt']!.sha256 = 'changed';
        draft.discarded['b.txt'] = '1:1';
        draft.changes.push({ path: 'b.txt', kind: 'added', size: 1 });
        throw new Error('half-way');
      }),
      /half-way/,
    );
    const { index, discarded } = await baseline.current();
    assert.equal(index?.files['a.txt']?.sha256, 'A');
    assert.deepEqual(discarded, {});
    assert.deepEqual(baseline.changes, []);
    assert.equal(await baseline.edit(async () => 'ran'), 'ran');
  });

  it('saves index, discarded changes and the change set where a new store finds them, readable by the user only', async () => {
    const store = join(dir, 'persist');
    const baseline = new BaselineStore(store, () => 'embedded').of(root);
    await baseline.edit(async (draft) => {
      draft.index = emptyIndex('cb_7', root.path);
      draft.index.files['a.txt'] = { size: 1, mtimeMs: 1, sha256: 'A', remoteMtimeMs: 5 };
      draft.discarded['new.txt'] = '3:9';
      draft.changes = [{ path: 'a.txt', kind: 'modified', size: 2, remoteMtimeMs: 6, sha256: 'B' }];
      draft.save();
    });
    const again = new BaselineStore(store, () => 'embedded').of(root);
    const { index, discarded } = await again.current();
    assert.equal(index?.codebaseId, 'cb_7');
    assert.deepEqual(index?.files['a.txt'], { size: 1, mtimeMs: 1, sha256: 'A', remoteMtimeMs: 5 });
    assert.deepEqual(discarded, { 'new.txt': '3:9' });
    // The change set comes back too: a reopened window shows it before reaching a server.
    assert.deepEqual(again.changes, [{ path: 'a.txt', kind: 'modified', size: 2, remoteMtimeMs: 6, sha256: 'B' }]);
    const [file] = await readdir(store);
    assert.equal(statSync(join(store, file!)).mode & 0o777, 0o600);
    assert.equal(statSync(store).mode & 0o777, 0o700);
    // Another endpoint's baseline of the same folder is another file: codebase ids are per server.
    assert.equal((await new BaselineStore(store, () => 'tcp://elsewhere').of(root).current()).index, undefined);
  });

  it("sees another process's edits of the same folder (VS Code and the MCP server share the file)", async () => {
    const store = join(dir, 'shared');
    const vscodeSide = new BaselineStore(store, () => 'embedded').of(root);
    const mcpSide = new BaselineStore(store, () => 'embedded').of(root);
    await vscodeSide.edit(async (draft) => {
      draft.index = emptyIndex('cb_shared', root.path);
      draft.save();
    });
    await mcpSide.edit(async (draft) => {
      assert.equal(draft.index?.codebaseId, 'cb_shared', 'the second store reads what the first wrote');
      draft.changes = [{ path: 'made.txt', kind: 'added', size: 3, remoteMtimeMs: 1, sha256: 'C' }];
      draft.save();
    });
    // The first one has the file in memory already: its next edit reads the other's version.
    await vscodeSide.edit(async (draft) => {
      assert.deepEqual(
        draft.changes.map((c) => c.path),
        ['made.txt'],
      );
    });
    assert.deepEqual(
      vscodeSide.changes.map((c) => c.path),
      ['made.txt'],
    );
  });

  it("follows another process's edit as it happens: the watched baseline reloads and fires onDidChange", async () => {
    const store = join(dir, 'watched');
    const vscodeStore = new BaselineStore(store, () => 'embedded');
    const shown = vscodeStore.of(root);
    await shown.edit(async (draft) => {
      draft.index = emptyIndex('cb_w', root.path);
      draft.save();
    });
    const seen: string[][] = [];
    shown.onDidChange((b) => seen.push(b.changes.map((c) => c.path)));
    const watching = vscodeStore.watchOtherWriters();
    try {
      await new BaselineStore(store, () => 'embedded').of(root).edit(async (draft) => {
        draft.changes = [{ path: 'from-mcp.txt', kind: 'added', size: 1, remoteMtimeMs: 1 }];
        draft.save();
      });
      const after = await settle(
        () => seen.at(-1),
        (paths) => paths?.[0] === 'from-mcp.txt',
      );
      assert.deepEqual(after, ['from-mcp.txt']);
    } finally {
      watching.dispose();
    }
  });

  it('fires onDidChange after an edit ended, with the new state in place', async () => {
    const baseline = new BaselineStore(join(dir, 'events'), () => 'embedded').of(root);
    const seen: number[] = [];
    const sub = baseline.onDidChange((b) => seen.push(b.changes.length));
    await baseline.edit(async (draft) => void draft.changes.push({ path: 'x', kind: 'added', size: 1 }));
    sub.dispose();
    await baseline.edit(async (draft) => void (draft.changes = []));
    assert.deepEqual(seen, [1]);
  });
});
