// The five built-in presets: the SDK's names and rules, except that every one but full-access
// hides secrets (the SDK's read-only and view-only hide none, its development no credentials
// files); what they decide, and extendPreset.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { BUILTIN_PRESET_NAMES, extendPreset, getPreset, presetDescription } from '../../src/client/presets';
import { PermissionEngine } from '../../src/shared/permissions';

const g = (pattern: string, permission: string, priority: number) => ({ pattern, permission, type: 'glob', priority });

const SECRETS = [
  g('**/.env*', 'none', 100),
  g('**/secrets/**', 'none', 100),
  g('**/*.key', 'none', 100),
  g('**/*.pem', 'none', 100),
  g('**/credentials*', 'none', 100),
];

const EXPECTED_PRESETS = {
  // The SDK's agent-safe, rule for rule and in its order.
  'agent-safe': [
    g('**/*', 'read', 0),
    g('/output/**', 'write', 10),
    g('/tmp/**', 'write', 10),
    ...SECRETS,
    g('**/.git/**', 'none', 50),
  ],
  'read-only': [g('**/*', 'read', 0), ...SECRETS],
  'full-access': [g('**/*', 'write', 0)],
  development: [g('**/*', 'write', 0), ...SECRETS],
  'view-only': [g('**/*', 'view', 0), ...SECRETS],
};

const decide = (preset: string, paths: string[]) => {
  const engine = new PermissionEngine(getPreset(preset));
  return Object.fromEntries(paths.map((p) => [p, engine.permissionOf(p)]));
};

describe('presets', () => {
  test('exactly the five presets, rule for rule', () => {
    assert.deepEqual([...BUILTIN_PRESET_NAMES].sort(), Object.keys(EXPECTED_PRESETS).sort());
    for (const [name, rules] of Object.entries(EXPECTED_PRESETS)) assert.deepEqual(getPreset(name), rules, name);
  });

  test('every preset but full-access hides the secrets; full-access says loudly that it exposes them', () => {
    const secrets = [
      '.env',
      '.env.production',
      'secrets/key.pem',
      'a/secrets/b.txt',
      'id_rsa.key',
      'cert.pem',
      'config/credentials.json',
      'credentials',
    ];
    for (const preset of BUILTIN_PRESET_NAMES.filter((p) => p !== 'full-access')) {
      assert.deepEqual(decide(preset, secrets), Object.fromEntries(secrets.map((p) => [p, 'none'])), preset);
    }
    assert.deepEqual(
      Object.values(decide('full-access', secrets)),
      secrets.map(() => 'write'),
    );
    assert.match(presetDescription('full-access'), /EXPOSES SECRETS/);
  });

  test('agent-safe hides secrets and .git, reads code, writes only output/ and tmp/', () => {
    assert.deepEqual(
      decide('agent-safe', [
        '.env',
        '.env.local',
        'secrets/key.pem',
        'id_rsa.key',
        'cert.pem',
        'config/credentials.json',
        '.git/config',
        'src/app.py',
        'output/x',
        'tmp/y',
        'src/out.txt',
      ]),
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
    assert.deepEqual(decide('agent-safe', ['output/.env', 'output/secrets/a']), {
      'output/.env': 'none',
      'output/secrets/a': 'none',
    });
  });

  test('development writes code and .git; read-only reads it, view-only lists it, full-access writes everything', () => {
    const paths = ['src/app.py', '.git/config'];
    assert.deepEqual(decide('development', paths), { 'src/app.py': 'write', '.git/config': 'write' });
    assert.deepEqual(decide('read-only', paths), { 'src/app.py': 'read', '.git/config': 'read' });
    assert.deepEqual(decide('view-only', paths), { 'src/app.py': 'view', '.git/config': 'view' });
    assert.deepEqual(decide('full-access', [...paths, '.env']), {
      'src/app.py': 'write',
      '.git/config': 'write',
      '.env': 'write',
    });
  });

  test('getPreset returns a fresh copy and names the known presets when asked for an unknown one', () => {
    const a = getPreset('read-only');
    a[0]!.permission = 'write';
    assert.equal(getPreset('read-only')[0]!.permission, 'read');
    assert.throws(
      () => getPreset('yolo'),
      /unknown preset "yolo" \(known: agent-safe, read-only, development, full-access, view-only\)/,
    );
  });
});

describe('extendPreset', () => {
  test('additions are appended as given', () => {
    const rules = extendPreset('read-only', { additions: [{ pattern: '/docs/**', permission: 'write', priority: 5 }] });
    assert.deepEqual(rules, [...EXPECTED_PRESETS['read-only'], g('/docs/**', 'write', 5)]);
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
    assert.deepEqual(
      extendPreset([{ pattern: '/a', permission: 'read' }], { overrides: [{ pattern: '/a', permission: 'none' }] }).map(
        (r) => r.priority,
      ),
      [0, 1],
    );
    assert.throws(
      () => extendPreset('read-only', { additions: [{ pattern: '/x', permission: 'rw' as never }] }),
      /rule #1 \("\/x"\): unknown permission "rw"/,
    );
  });
});
