import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InvalidPathError, normalizeCodebasePath, sandboxPathToCodebasePath } from '../../src/shared/codebasePath';

test('normal codebase paths pass through, tidied', () => {
  assert.equal(normalizeCodebasePath('src/a.py'), 'src/a.py');
  assert.equal(normalizeCodebasePath('./src/a.py'), 'src/a.py');
  assert.equal(normalizeCodebasePath('docs/'), 'docs');
  assert.equal(normalizeCodebasePath('.env'), '.env');
  assert.equal(normalizeCodebasePath('', { allowRoot: true }), '');
});

for (const [path, reason] of [
  ['/etc/passwd', /relative/],
  ['../outside', /"\.\." segment/],
  ['a/../../b', /"\.\." segment/],
  ['a//b', /empty segment/],
  ['a/./b', /"\." segment/],
  ['a\0b', /NUL/],
  ['a\\b', /backslash/],
  ['', /root/],
  ['x'.repeat(256), /255 bytes/],
  ['a/'.repeat(2100), /4096 bytes/],
] as const) {
  test(`rejects ${JSON.stringify(path.slice(0, 20))}: ${reason}`, () => {
    assert.throws(
      () => normalizeCodebasePath(path),
      (e: unknown) => e instanceof InvalidPathError && reason.test(e.message),
    );
  });
}

test('sandbox paths map to codebase paths as the Python SDK maps them', () => {
  assert.equal(sandboxPathToCodebasePath('/workspace/out/a.txt'), 'out/a.txt');
  assert.equal(sandboxPathToCodebasePath('/src/a.py'), 'src/a.py');
  assert.equal(sandboxPathToCodebasePath('out/a.txt'), 'out/a.txt');
  assert.equal(sandboxPathToCodebasePath('/workspace'), '');
  assert.throws(() => sandboxPathToCodebasePath('/workspace/../etc/passwd'), InvalidPathError);
});
