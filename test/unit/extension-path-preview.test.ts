// The Explorer's permission preview: what its badge and hover say of a path, from the real
// upload rules (UploadExclusions on a real folder) and a real preset engine.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { UploadExclusions } from '../../src/core/sync/uploadExclusions';
import { describePreview, previewPath, type PathPreview } from '../../src/extension/presets/pathPreview';
import { PermissionEngine, type PermissionRule } from '../../src/shared/permissions';
import { getPreset } from '../../src/shared/presets';

let dir: string;

// The sample workspace of the e2e suite, where a new user saw `.env` called "read-only in the
// sandbox" under read-only although it is never uploaded.
const FILES = {
  '.env': 'SECRET=1',
  '.gitignore': 'build/\n*.log\n',
  '.git/config': '',
  'secrets/key.pem': 'PEM',
  'src/math.js': '',
  'build/out.js': '',
  'debug.log': '',
  'README.md': '',
  'output/report.txt': '',
};

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'af-preview-'));
  for (const [rel, content] of Object.entries(FILES)) {
    await mkdir(join(dir, rel, '..'), { recursive: true });
    await writeFile(join(dir, rel), content);
  }
  await symlink(join(dir, 'src'), join(dir, 'linked-src'));
});
after(() => rm(dir, { recursive: true, force: true }));

async function preview(
  path: string,
  rules: readonly PermissionRule[],
  options: { ignore?: string[] } = {},
): Promise<PathPreview> {
  const exclusion = await new UploadExclusions(dir, options).exclusionOf(path);
  return previewPath(path, exclusion, new PermissionEngine(rules));
}

async function hover(path: string, preset: string, options: { ignore?: string[] } = {}) {
  return describePreview(await preview(path, getPreset(preset), options), preset);
}

describe('permission preview', () => {
  test('under read-only, .env is "not uploaded", never "read-only in the sandbox"', async () => {
    const shown = await hover('.env', 'read-only');
    assert.deepEqual(shown, {
      badge: '—',
      tooltip: 'AgentFense: not uploaded: excluded by AgentFense\'s default upload exclusion ".env"',
      faded: true,
    });
  });

  test('a path left out by an ignore rule names the file and the rule, and the folder when the rule is on one', async () => {
    assert.equal(
      (await hover('debug.log', 'full-access')).tooltip,
      'AgentFense: not uploaded: excluded by .gitignore rule "*.log"',
    );
    assert.equal(
      (await hover('build/out.js', 'full-access')).tooltip,
      'AgentFense: not uploaded: excluded by .gitignore rule "build/" on folder build/',
    );
    assert.equal(
      (await hover('build', 'full-access')).tooltip,
      'AgentFense: not uploaded: excluded by .gitignore rule "build/"',
    );
    assert.equal(
      (await hover('.git/config', 'development')).tooltip,
      'AgentFense: not uploaded: excluded by AgentFense\'s default upload exclusion ".git" on folder .git/',
    );
    assert.equal(
      (await hover('README.md', 'agent-safe', { ignore: ['README.md'] })).tooltip,
      'AgentFense: not uploaded: excluded by agentfense.ignore rule "README.md"',
    );
  });

  test('a path behind a symbolic link is not uploaded, and the hover says which link', async () => {
    assert.equal(
      (await hover('linked-src', 'read-only')).tooltip,
      'AgentFense: not uploaded: excluded as a symbolic link; uploads do not follow links',
    );
    assert.equal(
      (await hover('linked-src/math.js', 'read-only')).tooltip,
      'AgentFense: not uploaded: excluded because folder linked-src/ is a symbolic link; uploads do not follow links',
    );
  });

  test('an uploaded path a rule hides says "hidden by rule" with the rule', async () => {
    for (const preset of ['agent-safe', 'read-only', 'development', 'view-only']) {
      assert.deepEqual(await hover('secrets/key.pem', preset), {
        badge: '⊘',
        tooltip: `AgentFense (${preset}): hidden by rule "**/secrets/**", priority 100`,
        faded: true,
      });
    }
    const custom = await preview('README.md', [{ pattern: '/src/**', permission: 'read' }]);
    assert.deepEqual(custom, { kind: 'hidden', rule: undefined });
    assert.equal(
      describePreview(custom, 'mine').tooltip,
      'AgentFense (mine): hidden: no rule of the preset matches it',
    );
    const byFileRule = await preview('README.md', [
      { pattern: '**/*', permission: 'read' },
      { pattern: 'README.md', permission: 'none', type: 'file', priority: 5 },
    ]);
    assert.equal(
      describePreview(byFileRule, 'mine').tooltip,
      'AgentFense (mine): hidden by rule "README.md" (file), priority 5',
    );
  });

  test('an uploaded, visible path gets its level and the rule that gives it', async () => {
    assert.deepEqual(await hover('src/math.js', 'read-only'), {
      badge: 'R',
      tooltip: 'AgentFense (read-only): read-only in the sandbox (rule "**/*", priority 0)',
      faded: false,
    });
    assert.deepEqual(await hover('output/report.txt', 'agent-safe'), {
      badge: 'W',
      tooltip: 'AgentFense (agent-safe): readable and writable in the sandbox (rule "/output/**", priority 10)',
      faded: false,
    });
    assert.deepEqual(await hover('src/math.js', 'view-only'), {
      badge: 'V',
      tooltip: 'AgentFense (view-only): listed in the sandbox, content unreadable (rule "**/*", priority 0)',
      faded: false,
    });
  });

  test('not uploaded wins over any rule: a write rule on an excluded file does not make it exist', async () => {
    const shown = await preview('.env', [{ pattern: '/.env', permission: 'write', type: 'file', priority: 1000 }]);
    assert.equal(shown.kind, 'notUploaded');
  });

  test('other exclusions read as sentences too', () => {
    const engine = new PermissionEngine(getPreset('read-only'));
    const say = (p: PathPreview) => describePreview(p, 'read-only').tooltip;
    assert.equal(
      say(previewPath('pipe', { kind: 'special', path: 'pipe' }, engine)),
      'AgentFense: not uploaded: excluded as a special file (socket, pipe or device)',
    );
    assert.equal(
      say(previewPath('a/b', { kind: 'unreadable', path: 'a' }, engine)),
      'AgentFense: not uploaded: excluded because folder a/ cannot be read',
    );
    assert.equal(
      say(previewPath('a/b', { kind: 'unreadable', path: '' }, engine)),
      'AgentFense: not uploaded: excluded because the workspace folder cannot be read',
    );
    assert.equal(
      say(
        previewPath(
          'x\\y',
          {
            kind: 'invalidName',
            path: 'x\\y',
            reason: 'invalid path "x\\\\y": backslashes are not path separators here; use /',
          },
          engine,
        ),
      ),
      'AgentFense: not uploaded: excluded: invalid path "x\\\\y": backslashes are not path separators here; use /',
    );
  });
});
