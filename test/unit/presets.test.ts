// The five SDK presets exactly as docs/agentfense-protocol.md lists them, what they decide, and extendPreset.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { BUILTIN_PRESET_NAMES, extendPreset, getPreset } from '../../src/client/presets';
import { PermissionEngine } from '../../src/shared/permissions';

const g = (pattern: string, permission: string, priority: number) => ({ pattern, permission, type: 'glob', priority });

const DOC_PRESETS = {
  'agent-safe': [
    g('**/*', 'read', 0),
    g('/output/**', 'write', 10),
    g('/tmp/**', 'write', 10),
    g('**/.env*', 'none', 100),
    g('**/secrets/**', 'none', 100),
    g('**/*.key', 'none', 100),
    g('**/*.pem', 'none', 100),
    g('**/credentials*', 'none', 100),
    g('**/.git/**', 'none', 50),
  ],
  'read-only': [g('**/*', 'read', 0)],
  'full-access': [g('**/*', 'write', 0)],
  development: [
    g('**/*', 'write', 0),
    g('**/.env*', 'none', 100),
    g('**/secrets/**', 'none', 100),
    g('**/*.key', 'none', 100),
    g('**/*.pem', 'none', 100),
  ],
  'view-only': [g('**/*', 'view', 0)],
};

const decide = (preset: string, paths: string[]) => {
  const engine = new PermissionEngine(getPreset(preset));
  return Object.fromEntries(paths.map((p) => [p, engine.permissionOf(p)]));
};

describe('presets', () => {
  test('exactly the five presets of the doc, rule for rule', () => {
    assert.deepEqual([...BUILTIN_PRESET_NAMES].sort(), Object.keys(DOC_PRESETS).sort());
    for (const [name, rules] of Object.entries(DOC_PRESETS)) assert.deepEqual(getPreset(name), rules, name);
  });

  test('agent-safe hides secrets and .git, reads code, writes only output/ and tmp/', () => {
    assert.deepEqual(
      decide('agent-safe', ['.env', '.env.local', 'secrets/key.pem', 'id_rsa.key', 'cert.pem', 'config/credentials.json', '.git/config', 'src/app.py', 'output/x', 'tmp/y', 'src/out.txt']),
      {
        '.env': 'none',
        '.env.local': 'none',
        'secrets/key.pem': 'none',
        'id_rsa.key': 'none',
        'cert.pem': 'none',
        'config/credentials.json': 'none',
        '.git/config': 'none',
        'src/app.py': 'read',
        'output/x': 'write',
        'tmp/y': 'write',
        'src/out.txt': 'read',
      },
    );
  });

  test('secrets stay hidden even inside output/ (priority 100 beats 10)', () => {
    assert.deepEqual(decide('agent-safe', ['output/.env', 'output/secrets/a']), { 'output/.env': 'none', 'output/secrets/a': 'none' });
  });

  test('development writes code but hides secrets; read-only, full-access and view-only are uniform', () => {
    assert.deepEqual(decide('development', ['src/app.py', '.env', 'a/secrets/b', 'k.key', '.git/config']), {
      'src/app.py': 'write',
      '.env': 'none',
      'a/secrets/b': 'none',
      'k.key': 'none',
      '.git/config': 'write',
    });
    assert.deepEqual(decide('read-only', ['src/app.py', '.env']), { 'src/app.py': 'read', '.env': 'read' });
    assert.deepEqual(decide('full-access', ['src/app.py', '.env']), { 'src/app.py': 'write', '.env': 'write' });
    assert.deepEqual(decide('view-only', ['src/app.py', '.env']), { 'src/app.py': 'view', '.env': 'view' });
  });

  test('getPreset returns a fresh copy and names the known presets when asked for an unknown one', () => {
    const a = getPreset('read-only');
    a[0]!.permission = 'write';
    assert.equal(getPreset('read-only')[0]!.permission, 'read');
    assert.throws(() => getPreset('yolo'), /unknown preset "yolo" \(known: agent-safe, read-only, development, full-access, view-only\)/);
  });
});

describe('extendPreset', () => {
  test('additions are appended as given', () => {
    const rules = extendPreset('read-only', { additions: [{ pattern: '/docs/**', permission: 'write', priority: 5 }] });
    assert.deepEqual(rules, [g('**/*', 'read', 0), g('/docs/**', 'write', 5)]);
  });

  test('overrides are raised above the highest priority of the base, so they win', () => {
    const rules = extendPreset('agent-safe', { overrides: [{ pattern: '**/.env.example', permission: 'read' }] });
    const override = rules.at(-1)!;
    assert.equal(override.pattern, '**/.env.example');
    assert.ok(override.priority > 100, `priority ${override.priority} is above agent-safe's 100`);
    assert.deepEqual(rules.slice(0, -1), getPreset('agent-safe'), 'the base is unchanged');
    const engine = new PermissionEngine(rules);
    assert.equal(engine.permissionOf('.env.example'), 'read');
    assert.equal(engine.permissionOf('.env'), 'none');
  });

  test('overrides keep their relative order of priority', () => {
    const rules = extendPreset('development', {
      overrides: [
        { pattern: '/secrets/public/**', permission: 'read', priority: 1 },
        { pattern: '/secrets/public/hidden', permission: 'none', priority: 2 },
      ],
    });
    const engine = new PermissionEngine(rules);
    assert.equal(engine.permissionOf('secrets/public/a'), 'read');
    assert.equal(engine.permissionOf('secrets/public/hidden'), 'none');
    assert.equal(engine.permissionOf('secrets/private'), 'none');
  });

  test('a rule list can be the base; bad rules are rejected naming the rule', () => {
    assert.deepEqual(extendPreset([{ pattern: '/a', permission: 'read' }], { overrides: [{ pattern: '/a', permission: 'none' }] }).map((r) => r.priority), [0, 1]);
    assert.throws(() => extendPreset('read-only', { additions: [{ pattern: '/x', permission: 'rw' as never }] }), /rule #1 \("\/x"\): unknown permission "rw"/);
  });
});
