import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildPresetCatalog, parsePresetFile } from '../../src/extension/presets/presetCatalog';
import { PermissionEngine } from '../../src/shared/permissions';
import { BUILTIN_PRESET_NAMES } from '../../src/shared/presets';

test('the five built-ins come first, rules in evaluation order', () => {
  const cat = buildPresetCatalog({}, {});
  assert.deepEqual(cat.entries.map((e) => e.name), [...BUILTIN_PRESET_NAMES]);
  const safe = cat.get('agent-safe')!;
  assert.equal(safe.rules![0].priority, 100);
  assert.equal(safe.rules!.at(-1)!.pattern, '**/*');
});

test('a user preset extends a built-in and its rules take effect', () => {
  const cat = buildPresetCatalog({ docs: { extends: 'agent-safe', rules: [{ pattern: '/docs/**', permission: 'write', priority: 20 }] } }, {});
  const engine = new PermissionEngine(cat.rulesOf('docs'));
  assert.equal(engine.permissionOf('docs/a.md'), 'write');
  assert.equal(engine.permissionOf('.env'), 'none');
  assert.equal(engine.permissionOf('src/a.ts'), 'read');
});

test('workspace presets override settings presets of the same name; chains of extends resolve', () => {
  const cat = buildPresetCatalog(
    { mine: { rules: [{ pattern: '**/*', permission: 'read' }] } },
    { mine: { extends: 'base', rules: [] }, base: { extends: 'read-only', rules: [{ pattern: '/out/**', permission: 'write', priority: 5 }] } },
  );
  assert.equal(cat.get('mine')!.source, 'workspace');
  assert.equal(new PermissionEngine(cat.rulesOf('mine')).permissionOf('out/x'), 'write');
});

test('invalid presets become error entries naming the rule, never throw', () => {
  const cat = buildPresetCatalog(
    {
      bad: { rules: [{ pattern: '**/*', permission: 'read' }, { pattern: '/x', permission: 'execute' }] },
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
