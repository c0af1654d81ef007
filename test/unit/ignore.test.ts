// walkWorkspace: which local files make up a codebase.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, symlink, writeFile, chmod } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { walkWorkspace, DEFAULT_IGNORES } from '../../src/client';

let dir: string;

async function tree(files: Record<string, string>) {
  for (const [rel, content] of Object.entries(files)) {
    await mkdir(join(dir, rel, '..'), { recursive: true });
    await writeFile(join(dir, rel), content);
  }
}

const paths = async (opts = {}) => (await walkWorkspace(dir, opts)).map((f) => f.path);

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'af-walk-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('walkWorkspace', () => {
  test('default ignores: VCS, dependency and cache folders, .env; dist/ is kept', async () => {
    await tree({
      'src/a.py': '',
      '.git/config': '',
      'node_modules/x/i.js': '',
      'pkg/node_modules/y.js': '',
      '__pycache__/a.pyc': '',
      'src/b.pyc': '',
      '.venv/bin/python': '',
      'venv/lib/x': '',
      '.tox/x': '',
      '.mypy_cache/x': '',
      '.pytest_cache/x': '',
      'x.egg-info/PKG-INFO': '',
      '.env': 'SECRET=1',
      '.DS_Store': '',
      'dist/bundle.js': '',
    });
    assert.deepEqual(await paths(), ['dist/bundle.js', 'src/a.py']);
    assert.ok(DEFAULT_IGNORES.includes('.git') && DEFAULT_IGNORES.includes('node_modules'));
  });

  test('root .gitignore, with negation', async () => {
    await tree({
      '.gitignore': '*.log\n!keep.log\nbuild/\n/top.txt\n',
      'a.log': '',
      'keep.log': '',
      'build/x': '',
      'top.txt': '',
      'sub/top.txt': '',
      'sub/b.log': '',
    });
    assert.deepEqual(await paths(), ['.gitignore', 'keep.log', 'sub/top.txt']);
  });

  test('a nested .gitignore applies relative to its folder and can re-include', async () => {
    await tree({
      '.gitignore': '*.gen\n',
      'pkg/.gitignore': '/local.txt\n!special.gen\n',
      'pkg/local.txt': '',
      'pkg/deeper/local.txt': '',
      'pkg/special.gen': '',
      'pkg/other.gen': '',
      'local.txt': '',
      'special.gen': '',
    });
    assert.deepEqual(await paths(), [
      '.gitignore',
      'local.txt',
      'pkg/.gitignore',
      'pkg/deeper/local.txt',
      'pkg/special.gen',
    ]);
  });

  test('a file inside an ignored directory cannot be re-included (as in git)', async () => {
    await tree({ '.gitignore': 'out/\n!out/keep.txt\n', 'out/keep.txt': '' });
    assert.deepEqual(await paths(), ['.gitignore']);
  });

  test('.sandboxignore adds rules after .gitignore (and can undo them)', async () => {
    await tree({
      '.gitignore': '*.csv\n',
      '.sandboxignore': 'private/\n!data.csv\n',
      'private/p': '',
      'data.csv': '',
      'other.csv': '',
      'src/.sandboxignore': 'tmp*\n',
      'src/tmp1': '',
      'src/ok': '',
    });
    assert.deepEqual(await paths(), ['.gitignore', '.sandboxignore', 'data.csv', 'src/.sandboxignore', 'src/ok']);
  });

  test('the caller ignores win over the root files; ! can bring back a default', async () => {
    await tree({ '.gitignore': '!*.tmp\n', 'a.tmp': '', '.env': 'X=1', 'b.txt': '' });
    assert.deepEqual(await paths({ ignore: ['*.tmp', '!.env'] }), ['.env', '.gitignore', 'b.txt']);
    assert.deepEqual(await paths({ noDefaultIgnores: true }), ['.env', '.gitignore', 'a.tmp', 'b.txt']);
  });

  test('symlinks and special files are skipped; size, mode and mtime are reported', async () => {
    await tree({ 'real.sh': '#!/bin/sh\n', 'sub/f': 'x' });
    await chmod(join(dir, 'real.sh'), 0o755);
    await symlink(join(dir, 'real.sh'), join(dir, 'link.sh'));
    await symlink(join(dir, 'sub'), join(dir, 'linkdir'));
    await symlink('/etc', join(dir, 'escape'));
    execFileSync('mkfifo', [join(dir, 'pipe')]);
    const files = await walkWorkspace(dir);
    assert.deepEqual(
      files.map((f) => f.path),
      ['real.sh', 'sub/f'],
    );
    const real = files[0]!;
    assert.equal(real.size, 10);
    assert.equal(real.mode, 0o755);
    assert.equal(real.absPath, join(dir, 'real.sh'));
    assert.ok(real.mtimeMs > 0);
  });

  test('names a codebase cannot hold are reported, not uploaded', async () => {
    await tree({ 'back\\slash.txt': '', 'ok.txt': '' });
    const skipped: string[] = [];
    assert.deepEqual(await paths({ onSkip: (p: string, why: string) => skipped.push(`${p}: ${why}`) }), ['ok.txt']);
    assert.equal(skipped.length, 1);
    assert.match(skipped[0]!, /back\\slash\.txt: .*backslash/);
  });

  test('an aborted signal stops the walk', async () => {
    await tree({ 'a/b': '' });
    const ac = new AbortController();
    ac.abort(new Error('stop'));
    await assert.rejects(walkWorkspace(dir, { signal: ac.signal }), /stop/);
  });
});
