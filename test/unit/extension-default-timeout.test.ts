/**
 * A command run from VS Code has a default timeout (issue 18, W3): the setting's declared
 * default is 30 minutes and 0 still means "no limit".
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

interface Manifest {
  contributes: {
    configuration: { properties: Record<string, { default?: unknown; minimum?: number; description?: string }> };
  };
}

test('agentfense.defaultTimeout defaults to 1800 s and allows 0 for none', () => {
  const manifest = JSON.parse(readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8')) as Manifest;
  const setting = manifest.contributes.configuration.properties['agentfense.defaultTimeout'];
  assert.equal(setting.default, 1800);
  assert.equal(setting.minimum, 0);
  assert.match(setting.description ?? '', /0 means no limit/);
  // The code's fallback (used when VS Code has no default, e.g. in tests) must agree.
  const config = readFileSync(join(__dirname, '..', '..', 'src', 'extension', 'config.ts'), 'utf8');
  assert.match(config, /DEFAULT_TIMEOUT_SECONDS = 1800;/);
});
