// The shared permission engine as the client relies on it: rule ordering, glob forms, validation.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  PermissionEngine,
  normalizeRules,
  sortRules,
  type NormalizedRule,
  type PermissionRule,
} from '../../src/shared/permissions';

const order = (rules: PermissionRule[]) => sortRules(normalizeRules(rules)).map((r) => r.pattern);

describe('rule ordering (first match wins)', () => {
  test('higher priority first, whatever the type or pattern', () => {
    assert.deepEqual(
      order([
        { pattern: '/exact.txt', type: 'file', permission: 'write', priority: 0 },
        { pattern: '**/*.txt', permission: 'none', priority: 100 },
      ]),
      ['**/*.txt', '/exact.txt'],
    );
  });

  test('equal priority: FILE before DIRECTORY before GLOB', () => {
    assert.deepEqual(
      order([
        { pattern: '/a/**', type: 'glob', permission: 'read' },
        { pattern: '/a/', type: 'directory', permission: 'read' },
        { pattern: '/a/b', type: 'file', permission: 'read' },
      ]),
      ['/a/b', '/a/', '/a/**'],
    );
  });

  test('equal type: a pattern anchored with / beats one starting with **', () => {
    assert.deepEqual(
      order([
        { pattern: '**/*.py', permission: 'read' },
        { pattern: '/src/*.py', permission: 'write' },
      ]),
      ['/src/*.py', '**/*.py'],
    );
  });

  test('a longer literal prefix before ** beats a shorter one', () => {
    assert.deepEqual(
      order([
        { pattern: '/src/**', permission: 'read' },
        { pattern: '/src/lib/**', permission: 'write' },
      ]),
      ['/src/lib/**', '/src/**'],
    );
  });

  test('a pattern without wildcards beats any pattern with one', () => {
    assert.deepEqual(
      order([
        { pattern: '/src/lib/deep/**', permission: 'read' },
        { pattern: '/src/*.py', permission: 'read' },
        { pattern: '/src/app.py', permission: 'none' },
      ]),
      ['/src/app.py', '/src/lib/deep/**', '/src/*.py'],
    );
  });

  test('full ties keep their given order (stable)', () => {
    const rules = normalizeRules([
      { pattern: '**/a', permission: 'read' },
      { pattern: '**/b', permission: 'none' },
      { pattern: '**/c', permission: 'write' },
    ]);
    assert.deepEqual(
      sortRules(rules).map((r) => r.pattern),
      ['**/a', '**/b', '**/c'],
    );
    assert.deepEqual(
      sortRules([...rules].reverse()).map((r) => r.pattern),
      ['**/c', '**/b', '**/a'],
    );
  });

  test('the engine applies the order: a more specific rule overrides a broad one at equal priority', () => {
    const engine = new PermissionEngine([
      { pattern: '**/*', permission: 'read' },
      { pattern: '/src/generated/**', permission: 'none' },
      { pattern: '/src/generated/keep.py', permission: 'write' },
    ]);
    assert.equal(engine.permissionOf('src/app.py'), 'read');
    assert.equal(engine.permissionOf('src/generated/x.py'), 'none');
    assert.equal(engine.permissionOf('src/generated/keep.py'), 'write');
  });

  test('a path no rule matches gets none', () => {
    assert.equal(new PermissionEngine([{ pattern: '/docs/**', permission: 'read' }]).permissionOf('src/a.py'), 'none');
  });
});

describe('glob forms', () => {
  const level = (pattern: string, path: string, type: NormalizedRule['type'] = 'glob') =>
    new PermissionEngine([{ pattern, permission: 'write', type }]).permissionOf(path);

  test('**/x matches x at any depth, the root included', () => {
    for (const p of ['x', 'a/x', 'a/b/c/x']) assert.equal(level('**/x', p), 'write', p);
    assert.equal(level('**/x', 'a/xy'), 'none');
  });

  test('/dir/** matches the directory itself and everything beneath it, nothing beside it', () => {
    for (const p of ['dir', 'dir/a', 'dir/a/b/c']) assert.equal(level('/dir/**', p), 'write', p);
    for (const p of ['dirx', 'other/dir/a']) assert.equal(level('/dir/**', p), 'none', p);
  });

  test('*.md matches at any depth; dotfiles too', () => {
    for (const p of ['README.md', 'docs/a.md', 'a/b/.hidden.md']) assert.equal(level('*.md', p), 'write', p);
    assert.equal(level('*.md', 'a.mdx'), 'none');
  });

  test('exact paths: glob without wildcards and FILE rules match only that file', () => {
    assert.equal(level('/config.yaml', 'config.yaml'), 'write');
    assert.equal(level('/config.yaml', 'sub/config.yaml'), 'none');
    assert.equal(level('/config.yaml', 'config.yaml', 'file'), 'write');
    assert.equal(level('/config.yaml', 'config.yaml/x', 'file'), 'none');
  });

  test('**/secrets/** matches a secrets directory anywhere and all inside it', () => {
    for (const p of ['secrets', 'secrets/key.pem', 'a/secrets', 'a/b/secrets/c/d.txt'])
      assert.equal(level('**/secrets/**', p), 'write', p);
    for (const p of ['secretsx/a', 'a/my-secrets/b']) assert.equal(level('**/secrets/**', p), 'none', p);
  });

  test('DIRECTORY rules match the directory and its contents', () => {
    for (const p of ['docs', 'docs/a/b.md']) assert.equal(level('/docs/', p, 'directory'), 'write', p);
    assert.equal(level('/docs/', 'docsx/a', 'directory'), 'none');
  });
});

describe('validation errors name the rule', () => {
  test('unknown permission', () => {
    assert.throws(
      () =>
        normalizeRules([
          { pattern: '/a', permission: 'read' },
          { pattern: '/b', permission: 'execute' },
        ]),
      /permission rule #2 \("\/b"\): unknown permission "execute"/,
    );
  });

  test('empty pattern', () => {
    assert.throws(
      () => normalizeRules([{ pattern: '  ', permission: 'read' }]),
      /permission rule #1 .*pattern must be a non-empty string/,
    );
  });

  test('non-integer priority', () => {
    assert.throws(
      () => normalizeRules([{ pattern: '/a', permission: 'read', priority: 1.5 }]),
      /rule #1 \("\/a"\): priority must be a 32-bit integer, got 1.5/,
    );
    assert.throws(
      () => normalizeRules([{ pattern: '/a', permission: 'read', priority: '3' as never }]),
      /priority must be a 32-bit integer/,
    );
  });

  test('unknown pattern type', () => {
    assert.throws(
      () => normalizeRules([{ pattern: '/a', permission: 'read', type: 'regex' as never }]),
      /unknown pattern type "regex"/,
    );
  });

  test('a misspelled key is named, with the key it was meant to be', () => {
    const message = (rule: unknown) => {
      try {
        normalizeRules([rule]);
      } catch (e) {
        return (e as Error).message;
      }
      return 'accepted';
    };
    assert.equal(
      message({ pattern: '/docs/**', permision: 'write' }),
      'permission rule #1 ("/docs/**"): unknown property "permision" — did you mean "permission"?',
    );
    assert.equal(
      message({ patern: '/a', permission: 'read' }),
      'permission rule #1 ({"patern":"/a","permission":"read"}): unknown property "patern" — did you mean "pattern"?',
    );
    assert.equal(
      message({ pattern: '/a', permission: 'read', priorty: 5 }),
      'permission rule #1 ("/a"): unknown property "priorty" — did you mean "priority"?',
    );
    assert.equal(
      message({ pattern: '/a', permission: 'read', Type: 'file' }),
      'permission rule #1 ("/a"): unknown property "Type" — did you mean "type"?',
    );
    assert.equal(
      message({ pattern: '/a', premission: 'read' }),
      'permission rule #1 ("/a"): unknown property "premission" — did you mean "permission"?',
      'two letters swapped',
    );
    assert.equal(
      message({ pattern: '/a', permission: 'read', comment: 'why' }),
      'permission rule #1 ("/a"): unknown property "comment" (expected "pattern", "permission", "type", "priority")',
      'nothing close: the keys a rule may have',
    );
    assert.equal(
      message({ pattern: '/a', permission: 'read', prio: 1 }),
      'permission rule #1 ("/a"): unknown property "prio" (expected "pattern", "permission", "type", "priority")',
    );
    assert.equal(message(['/a', 'read']), 'permission rule #1 (["/a","read"]): must be an object');
  });

  test('defaults: glob, priority 0', () => {
    assert.deepEqual(normalizeRules([{ pattern: '/a', permission: 'view' }]), [
      { pattern: '/a', permission: 'view', type: 'glob', priority: 0 },
    ]);
  });
});
