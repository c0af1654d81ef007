// The narrowest grant for a denial (src/core/denials), where it is written in
// .agentfense/presets.json, and the upload's take-back line for a granted, ignored file.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { grantedFiles, grantFor, secretRuleOf } from '../../src/core/denials/accessGrant';
import { grantTarget, PresetFileError, presetFileWithGrant } from '../../src/core/denials/presetFileGrant';
import { buildPresetCatalog, parsePresetFile } from '../../src/core/presets/presetCatalog';
import { reincluded } from '../../src/core/sync/workspaceSync';
import type { WireDenial } from '../../src/shared/denialWire';
import { PermissionEngine } from '../../src/shared/permissions';
import { getPreset } from '../../src/shared/presets';

const denial = (over: Partial<WireDenial>): WireDenial => ({
  kind: 'hidden',
  op: 'openat',
  named: '.env',
  path: '.env',
  accessed: '.env',
  level: 'none',
  wants: 'read',
  rule: { pattern: '**/.env*', permission: 'none', type: 'glob', priority: 100 },
  pid: 3,
  time: 1,
  count: 1,
  ...over,
});

describe('the grant for a denial', () => {
  it('is a file rule on the path the call named, at the level it needed, above the rule that refused it', () => {
    const g = grantFor(
      denial({
        path: 'secrets',
        accessed: 'secrets/db.txt',
        rule: { pattern: '**/secrets/**', permission: 'none', type: 'glob', priority: 100 },
      }),
    );
    assert.deepEqual(g.rule, { pattern: '/secrets/db.txt', permission: 'read', type: 'file', priority: 101 });
    assert.equal(g.secret?.pattern, '**/secrets/**');
    const engine = new PermissionEngine([...getPreset('agent-safe'), g.rule]);
    assert.equal(engine.permissionOf('secrets/db.txt'), 'read', 'the grant lets the access through');
    assert.equal(engine.permissionOf('secrets/other.txt'), 'none', 'and nothing beside it');
    assert.equal(engine.permissionOf('secrets/db.txt/below'), 'none', 'nor below it');
  });

  it('with no rule matched (the default, none) still wins; a plain file is no secret', () => {
    const g = grantFor(denial({ accessed: 'src/a.ts', path: 'src/a.ts', rule: undefined, wants: 'view' }));
    assert.deepEqual(g.rule, { pattern: '/src/a.ts', permission: 'view', type: 'file', priority: 1 });
    assert.equal(g.secret, undefined);
    assert.equal(g.overrides, undefined);
  });

  it('names the secrets rule of each secret kind the issue lists', () => {
    for (const [path, rule] of [
      ['.env.production', '**/.env*'],
      ['deploy/server.pem', '**/*.pem'],
      ['id.key', '**/*.key'],
      ['a/secrets/token', '**/secrets/**'],
      ['credentials.json', '**/credentials*'],
    ])
      assert.equal(secretRuleOf(path)?.pattern, rule, path);
    assert.equal(secretRuleOf('src/envelope.ts'), undefined);
  });

  it('makes a granted file part of the upload, by an escaped take-back line', () => {
    assert.deepEqual(grantedFiles([grantFor(denial({})).rule, ...getPreset('agent-safe')]), ['/.env']);
    assert.equal(reincluded('/.env'), '!/.env');
    assert.equal(reincluded('/a[1]*?.env '), '!/a\\[1\\]\\*\\?.env\\ ');
  });
});

describe('the grant written into .agentfense/presets.json', () => {
  const rule = grantFor(denial({})).rule;

  it('into the active preset when the file has it, keeping its other presets and rules', () => {
    const text = JSON.stringify({
      mine: { extends: 'agent-safe', rules: [{ pattern: 'docs/**', permission: 'view' }] },
      other: { rules: [] },
    });
    const target = grantTarget(text, 'mine', () => false);
    assert.deepEqual(target, { kind: 'into', preset: 'mine' });
    const next = parsePresetFile(presetFileWithGrant(text, target, rule)).presets;
    assert.deepEqual(next.mine, {
      extends: 'agent-safe',
      rules: [
        { pattern: 'docs/**', permission: 'view' },
        { pattern: '/.env', permission: 'read', type: 'file', priority: 101 },
      ],
    });
    assert.deepEqual(next.other, { rules: [] });
  });

  it('as a new preset extending a built-in (a name no preset has), which the catalog accepts and which reads .env', () => {
    const taken = new Set(['agent-safe-granted']);
    const target = grantTarget('', 'agent-safe', (n) => taken.has(n));
    assert.deepEqual(target, { kind: 'derived', name: 'agent-safe-granted-2', base: 'agent-safe' });
    const catalog = buildPresetCatalog({}, parsePresetFile(presetFileWithGrant('', target, rule)).presets);
    const rules = catalog.rulesOf('agent-safe-granted-2');
    assert.equal(new PermissionEngine(rules).permissionOf('.env'), 'read');
    assert.equal(new PermissionEngine(rules).permissionOf('.env.local'), 'none');
  });

  it('refuses a file it cannot read rather than lose it', () => {
    assert.throws(() => presetFileWithGrant('{ "mine": ', { kind: 'into', preset: 'mine' }, rule), PresetFileError);
    assert.throws(
      () => presetFileWithGrant('{"mine": {"rules": 3}}', { kind: 'into', preset: 'mine' }, rule),
      PresetFileError,
    );
  });
});
