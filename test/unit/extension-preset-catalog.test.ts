import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildPresetCatalog, parsePresetFile } from '../../src/core/presets/presetCatalog';
import { PermissionEngine } from '../../src/shared/permissions';
import { BUILTIN_PRESET_NAMES } from '../../src/shared/presets';

test('the five built-ins come first, rules in evaluation order', () => {
  const cat = buildPresetCatalog({}, {});
  assert.deepEqual(
    cat.entries.map((e) => e.name),
    [...BUILTIN_PRESET_NAMES],
  );
  const safe = cat.get('agent-safe')!;
  assert.equal(safe.rules![0].priority, 100);
  assert.equal(safe.rules!.at(-1)!.pattern, '**/*');
});

test('a user preset extends a built-in and its rules take effect', () => {
  const cat = buildPresetCatalog(
    { docs: { extends: 'agent-safe', rules: [{ pattern: '/docs/**', permission: 'write', priority: 20 }] } },
    {},
  );
  const engine = new PermissionEngine(cat.rulesOf('docs'));
  assert.equal(engine.permissionOf('docs/a.md'), 'write');
  assert.equal(engine.permissionOf('.env'), 'none');
  assert.equal(engine.permissionOf('src/a.ts'), 'read');
});

test('workspace presets override settings presets of the same name; chains of extends resolve', () => {
  const cat = buildPresetCatalog(
    { mine: { rules: [{ pattern: '**/*', permission: 'read' }] } },
    {
      mine: { extends: 'base', rules: [] },
      base: { extends: 'read-only', rules: [{ pattern: '/out/**', permission: 'write', priority: 5 }] },
    },
  );
  assert.equal(cat.get('mine')!.source, 'workspace');
  assert.equal(new PermissionEngine(cat.rulesOf('mine')).permissionOf('out/x'), 'write');
});

test('invalid presets become error entries naming the rule, never throw', () => {
  const cat = buildPresetCatalog(
    {
      bad: {
        rules: [
          { pattern: '**/*', permission: 'read' },
          { pattern: '/x', permission: 'execute' },
        ],
      },
      loopA: { extends: 'loopB', rules: [] },
      loopB: { extends: 'loopA', rules: [] },
      missing: { extends: 'nope', rules: [] },
      'agent-safe': { rules: [] },
      empty: { rules: [] },
      notObject: 3,
    },
    {},
  );
  assert.match(cat.get('bad')!.error!, /rule #2.*"\/x".*unknown permission "execute"/);
  assert.match(cat.get('loopA')!.error!, /cycle|invalid/);
  assert.match(cat.get('missing')!.error!, /unknown preset "nope"/);
  assert.match(cat.entries.find((e) => e.name === 'agent-safe' && e.source === 'settings')!.error!, /built-in/);
  assert.match(cat.get('empty')!.error!, /no rules/);
  assert.match(cat.get('notObject')!.error!, /must be an object/);
  assert.throws(() => cat.rulesOf('bad'), /invalid/);
  assert.throws(() => cat.rulesOf('unknown'), /Unknown AgentFense preset/);
});

test('presets.json parsing reports syntax errors instead of throwing', () => {
  assert.deepEqual(parsePresetFile(''), { presets: {} });
  assert.match(parsePresetFile('{').error!, /not valid JSON/);
  assert.match(parsePresetFile('[]').error!, /JSON object/);
  assert.deepEqual(Object.keys(parsePresetFile('{"a":{"rules":[]}}').presets), ['a']);
});

test('a misspelled key names the key and what it was meant to be, in rules and in presets', () => {
  const cat = buildPresetCatalog(
    {},
    parsePresetFile(`{
      "docs": { "extends": "agent-safe", "rules": [{ "pattern": "/docs/**", "permision": "write", "priority": 20 }] },
      "typo": { "extend": "agent-safe" },
      "norules": { "rule": [{ "pattern": "**/*", "permission": "read" }] },
      "extra": { "extends": "read-only", "notes": "x" },
      "badDescription": { "extends": "read-only", "description": 3 }
    }`).presets,
  );
  assert.equal(
    cat.get('docs')!.error,
    'permission rule #1 ("/docs/**"): unknown property "permision" — did you mean "permission"?',
  );
  assert.doesNotMatch(cat.get('docs')!.error!, /undefined/, 'never "unknown permission undefined"');
  assert.equal(cat.get('typo')!.error, 'unknown property "extend" — did you mean "extends"?');
  assert.equal(cat.get('norules')!.error, 'unknown property "rule" — did you mean "rules"?', 'not "has no rules"');
  assert.equal(
    cat.get('extra')!.error,
    'unknown property "notes" (expected "extends", "description", "rules", "network", "runtime", "image")',
  );
  assert.equal(cat.get('badDescription')!.error, '"description" must be a string');
  assert.throws(
    () => cat.rulesOf('docs'),
    /AgentFense preset "docs" is invalid: permission rule #1 \("\/docs\/\*\*"\): unknown property "permision" — did you mean "permission"\?/,
  );
});

test('a preset names its runtime: docker with an image, inherited through extends; bubblewrap by default', () => {
  const catalog = buildPresetCatalog(
    {
      py: { extends: 'development', runtime: 'docker', image: 'python:3.11-slim' },
      'py-strict': { extends: 'py', rules: [{ pattern: '/output/**', permission: 'write' }] },
      nodocker: { extends: 'agent-safe', runtime: 'docker' },
      imageonly: { extends: 'agent-safe', image: 'node:22' },
    },
    undefined,
  );
  assert.deepEqual(catalog.runtimeOf('py'), { kind: 'docker', image: 'python:3.11-slim' });
  assert.deepEqual(catalog.runtimeOf('py-strict'), { kind: 'docker', image: 'python:3.11-slim' });
  assert.deepEqual(catalog.runtimeOf('agent-safe'), { kind: 'bwrap' });
  assert.match(catalog.get('nodocker')!.error!, /"runtime": "docker" needs an "image"/);
  assert.match(catalog.get('imageonly')!.error!, /"image" needs "runtime": "docker"/);
  assert.throws(() => catalog.runtimeOf('nodocker'), /invalid/);
});
