// planView: what a sandbox's /workspace holds for a rule set, decided without touching disk.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { CodebaseSnapshot, ManifestEntry } from '../../src/server/codebase/contract';
import { planView } from '../../src/server/sandbox/view/viewPlan';
import { getPreset } from '../../src/shared/presets';
import { normalizeRules } from '../../src/shared/permissions';

function snapshot(paths: string[]): CodebaseSnapshot {
  const entries = new Map<string, ManifestEntry>(
    paths.map((path) => [path, { path, size: 1, mode: 0o644, digest: 'd'.repeat(64), mtimeMs: 0 }]),
  );
  return { codebaseId: 'cb_test', version: 'v1', entries };
}

const levels = (plan: ReturnType<typeof planView>) =>
  Object.fromEntries([...plan.files.values()].map((f) => [f.path, f.level]));

describe('planView', () => {
  const codebase = snapshot([
    'README.md',
    'src/app.py',
    '.env',
    'secrets/key.pem',
    'config/.env.local',
    '.git/config',
    'output/old.txt',
    'docs/id_rsa.key',
  ]);

  test('agent-safe: secrets and .git are absent, down to directories that hold nothing else', () => {
    const plan = planView(codebase, normalizeRules(getPreset('agent-safe')));
    assert.deepEqual(levels(plan), { 'README.md': 'read', 'src/app.py': 'read', 'output/old.txt': 'write' });
    assert.deepEqual([...plan.dirs].sort(), ['config', 'docs', 'output', 'src', 'tmp']);
    assert.ok(!plan.dirs.has('secrets') && !plan.dirs.has('.git'), 'a directory of hidden files is itself hidden');
    assert.deepEqual([...plan.children.get('')!].sort(), ['README.md', 'config', 'docs', 'output', 'src', 'tmp']);
  });

  test('agent-safe: only output/ and tmp/ are writable, created even when the codebase has no tmp/', () => {
    const plan = planView(codebase, normalizeRules(getPreset('agent-safe')));
    assert.deepEqual(plan.writableRoots, ['output', 'tmp']);
    assert.deepEqual(plan.readOnlyBinds, []);
  });

  test('development: the root is writable and hidden secrets stay absent; nothing is bound read-only', () => {
    const plan = planView(codebase, normalizeRules(getPreset('development')));
    assert.deepEqual(plan.writableRoots, ['']);
    assert.equal(levels(plan)['.env'], undefined);
    assert.equal(levels(plan)['.git/config'], 'write');
    assert.deepEqual(plan.readOnlyBinds, []);
  });

  test('a read file inside a writable directory is bound read-only over the layer', () => {
    const rules = normalizeRules([
      { pattern: '**/*', permission: 'read' },
      { pattern: '/src/**', permission: 'write', priority: 10 },
      { pattern: '/src/locked.py', permission: 'read', priority: 20, type: 'file' },
      { pattern: '/src/vendor/**', permission: 'view', priority: 20 },
    ]);
    const plan = planView(snapshot(['src/app.py', 'src/locked.py', 'src/vendor/lib.py', 'README.md']), rules);
    assert.deepEqual(plan.writableRoots, ['src']);
    assert.deepEqual(plan.readOnlyBinds, ['src/locked.py', 'src/vendor']);
    assert.deepEqual(levels(plan), {
      'src/app.py': 'write',
      'src/locked.py': 'read',
      'src/vendor/lib.py': 'view',
      'README.md': 'read',
    });
  });

  test('view-only: everything but secrets is listed at view level and nothing is writable', () => {
    const plan = planView(codebase, normalizeRules(getPreset('view-only')));
    assert.ok([...plan.files.values()].every((f) => f.level === 'view'));
    assert.deepEqual(
      ['.env', 'secrets/key.pem', 'config/.env.local', 'docs/id_rsa.key'].filter((p) => plan.files.has(p)),
      [],
      'secrets are absent, not listed',
    );
    assert.deepEqual(plan.writableRoots, []);
  });
});
