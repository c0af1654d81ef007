// UploadExclusions: why a path is not uploaded. Checked against walkWorkspace itself on real
// trees: every file the walk leaves out has a reason, and every file it keeps has none.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmod, lstat, mkdir, mkdtemp, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { UploadExclusions, type ExclusionOptions } from '../../src/core/sync/uploadExclusions';
import { walkWorkspace } from '../../src/core/sync/workspaceWalker';
import { nonRootOnly } from '../helpers/privileges';

let dir: string;

async function tree(files: Record<string, string>) {
  for (const [rel, content] of Object.entries(files)) {
    await mkdir(join(dir, rel, '..'), { recursive: true });
    await writeFile(join(dir, rel), content);
  }
}

/** Every path below `dir` (files, folders, links, pipes), without following links. */
async function everyPath(rel = ''): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(join(dir, rel), { withFileTypes: true })) {
    const path = rel === '' ? entry.name : `${rel}/${entry.name}`;
    out.push(path);
    if (entry.isDirectory()) out.push(...(await everyPath(path)));
  }
  return out;
}

/** Asks about every path the tree holds; the files without a reason must be exactly the walk's. */
async function assertAgreesWithWalk(options: ExclusionOptions = {}) {
  const walked = (await walkWorkspace(dir, options)).map((f) => f.path);
  const exclusions = new UploadExclusions(dir, options);
  const kept: string[] = [];
  for (const path of await everyPath()) {
    if (!(await lstat(join(dir, path))).isFile()) continue;
    if ((await exclusions.exclusionOf(path)) === undefined) kept.push(path);
  }
  assert.deepEqual(kept.sort(), walked);
}

const reason = async (path: string, options: ExclusionOptions = {}) =>
  new UploadExclusions(dir, options).exclusionOf(path);

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'af-exclusions-'));
});
afterEach(async () => {
  await chmod(join(dir, 'locked'), 0o755).catch(() => undefined);
  await rm(dir, { recursive: true, force: true });
});

describe('UploadExclusions', () => {
  test('names the default rule for .env and the folder for a file inside .git or node_modules', async () => {
    await tree({ '.env': 'K=1', '.git/config': '', 'pkg/node_modules/x.js': '', 'src/a.ts': '' });
    assert.deepEqual(await reason('.env'), {
      kind: 'ignored',
      path: '.env',
      match: { pattern: '.env', origin: { kind: 'default' } },
    });
    assert.deepEqual(await reason('.git/config'), {
      kind: 'ignored',
      path: '.git',
      match: { pattern: '.git', origin: { kind: 'default' } },
    });
    assert.deepEqual(await reason('pkg/node_modules/x.js'), {
      kind: 'ignored',
      path: 'pkg/node_modules',
      match: { pattern: 'node_modules', origin: { kind: 'default' } },
    });
    assert.equal(await reason('src/a.ts'), undefined);
    assert.equal(await reason('src'), undefined);
    assert.equal(await reason('missing.txt'), undefined, 'a path that does not exist has no reason');
    await assertAgreesWithWalk();
  });

  test('names the ignore file and its line: root, nested, .sandboxignore; negations and directory patterns', async () => {
    await tree({
      '.gitignore': '*.log\n!keep.log\nbuild/\n',
      '.sandboxignore': 'private/\n',
      'a.log': '',
      'keep.log': '',
      'build/out.js': '',
      'private/p.txt': '',
      'pkg/.gitignore': '/local.txt\n!special.log\n',
      'pkg/local.txt': '',
      'pkg/special.log': '',
      'pkg/other.log': '',
      'pkg/deeper/local.txt': '',
      'notbuild/build': '',
    });
    const file = (path: string, pattern: string, at: string) => ({
      kind: 'ignored',
      path: at,
      match: { pattern, origin: { kind: 'file', path } },
    });
    assert.deepEqual(await reason('a.log'), file('.gitignore', '*.log', 'a.log'));
    assert.equal(await reason('keep.log'), undefined);
    assert.deepEqual(await reason('build/out.js'), file('.gitignore', 'build/', 'build'));
    assert.deepEqual(await reason('private/p.txt'), file('.sandboxignore', 'private/', 'private'));
    assert.deepEqual(await reason('pkg/local.txt'), file('pkg/.gitignore', '/local.txt', 'pkg/local.txt'));
    assert.equal(await reason('pkg/special.log'), undefined, 'the nested file re-includes it');
    assert.deepEqual(await reason('pkg/other.log'), file('.gitignore', '*.log', 'pkg/other.log'));
    assert.equal(await reason('pkg/deeper/local.txt'), undefined, '/local.txt is anchored at pkg/');
    assert.equal(await reason('notbuild/build'), undefined, 'build/ matches folders only');
    await assertAgreesWithWalk();
  });

  test('a file inside an ignored folder stays out even when a rule re-includes it (as in git)', async () => {
    await tree({ '.gitignore': 'out/\n!out/keep.txt\n', 'out/keep.txt': '' });
    assert.deepEqual(await reason('out/keep.txt'), {
      kind: 'ignored',
      path: 'out',
      match: { pattern: 'out/', origin: { kind: 'file', path: '.gitignore' } },
    });
    await assertAgreesWithWalk();
  });

  test("the caller's patterns win over the root files and can bring a default back", async () => {
    await tree({ '.gitignore': '!*.tmp\n', 'a.tmp': '', '.env': 'X=1', 'b.txt': '' });
    const options = { ignore: ['*.tmp', '!.env'] };
    assert.deepEqual(await reason('a.tmp', options), {
      kind: 'ignored',
      path: 'a.tmp',
      match: { pattern: '*.tmp', origin: { kind: 'option' } },
    });
    assert.equal(await reason('.env', options), undefined);
    await assertAgreesWithWalk(options);
    assert.equal(await reason('.env', { noDefaultIgnores: true }), undefined);
    await assertAgreesWithWalk({ noDefaultIgnores: true });
  });

  test('links, pipes and names a codebase cannot hold are out, and say so', async () => {
    await tree({ 'real.sh': '', 'sub/f': '', 'back\\slash.txt': '' });
    await symlink(join(dir, 'real.sh'), join(dir, 'link.sh'));
    await symlink(join(dir, 'sub'), join(dir, 'linkdir'));
    execFileSync('mkfifo', [join(dir, 'pipe')]);
    assert.deepEqual(await reason('link.sh'), { kind: 'symlink', path: 'link.sh' });
    assert.deepEqual(
      await reason('linkdir/f'),
      { kind: 'symlink', path: 'linkdir' },
      'a file seen through a linked folder',
    );
    assert.deepEqual(await reason('pipe'), { kind: 'special', path: 'pipe' });
    const bad = await reason('back\\slash.txt');
    assert.equal(bad?.kind, 'invalidName');
    assert.match(bad?.kind === 'invalidName' ? bad.reason : '', /backslash/);
    await assertAgreesWithWalk();
  });

  test('a folder the walker cannot list', nonRootOnly('root reads any folder'), async () => {
    await tree({ 'locked/a.txt': '', 'open.txt': '' });
    await chmod(join(dir, 'locked'), 0o311);
    assert.deepEqual(await reason('locked/a.txt'), { kind: 'unreadable', path: 'locked' });
    assert.deepEqual(await new UploadExclusions(dir).exclusionOf('open.txt'), undefined);
  });

  test('reads each ignore file once until told to forget', async () => {
    await tree({ '.gitignore': '*.a\n', 'x.a': '', 'x.b': '' });
    const exclusions = new UploadExclusions(dir);
    assert.equal((await exclusions.exclusionOf('x.a'))?.kind, 'ignored');
    await writeFile(join(dir, '.gitignore'), '*.b\n');
    assert.equal((await exclusions.exclusionOf('x.a'))?.kind, 'ignored', 'the cached rules still apply');
    exclusions.forget();
    assert.equal(await exclusions.exclusionOf('x.a'), undefined);
    assert.equal((await exclusions.exclusionOf('x.b'))?.kind, 'ignored');
  });
});
