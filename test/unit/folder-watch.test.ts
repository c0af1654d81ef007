// Whether a folder changed since its last walk (src/core/sync/folderWatch.ts), with real inotify.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { FolderWatch } from '../../src/core/sync/folderWatch';
import { walkWorkspace } from '../../src/core/sync/workspaceWalker';

async function walked(dir: string, w: FolderWatch): Promise<void> {
  w.walkStarts();
  await walkWorkspace(dir, { onDirectory: (d) => w.watchDirectory(d) });
}

describe('FolderWatch', () => {
  it('is clean after a walk until any file in any walked folder changes, even one written just before asking', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'af-watch-'));
    try {
      mkdirSync(join(dir, 'src', 'empty'), { recursive: true });
      writeFileSync(join(dir, 'src', 'a.ts'), 'a');
      const w = new FolderWatch();
      assert.equal(await w.isClean(), false, 'never walked: not clean');
      await walked(dir, w);
      assert.equal(await w.isClean(), true);
      for (const change of [
        () => writeFileSync(join(dir, 'src', 'a.ts'), 'changed'),
        () => writeFileSync(join(dir, 'src', 'empty', 'new.ts'), 'new'),
        () => rmSync(join(dir, 'src', 'a.ts')),
        () => mkdirSync(join(dir, 'fresh')),
      ]) {
        await walked(dir, w);
        assert.equal(await w.isClean(), true);
        change(); // and ask at once: the event must be in
        assert.equal(await w.isClean(), false, change.toString());
      }
      w.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a failed walk leaves it dirty', async () => {
    const w = new FolderWatch();
    w.walkStarts();
    w.walkFailed();
    assert.equal(await w.isClean(), false);
  });
});
