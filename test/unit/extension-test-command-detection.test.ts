import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { detectTestCommand } from '../../src/extension/run/testCommandDetection';

function dir(files: Record<string, string>): string {
  const d = mkdtempSync(join(tmpdir(), 'af-detect-'));
  for (const [p, c] of Object.entries(files)) {
    mkdirSync(join(d, p, '..'), { recursive: true });
    writeFileSync(join(d, p), c);
  }
  return d;
}

test("npm scripts.test wins, but not npm init's placeholder", async () => {
  assert.equal(
    (await detectTestCommand(dir({ 'package.json': '{"scripts":{"test":"node --test"}}', 'go.mod': '' })))?.command,
    'npm test',
  );
  assert.equal(
    await detectTestCommand(
      dir({ 'package.json': '{"scripts":{"test":"echo \\"Error: no test specified\\" && exit 1"}}' }),
    ),
    undefined,
  );
});

test('pytest from pytest.ini, pyproject or a tests/ folder of test_*.py', async () => {
  assert.equal((await detectTestCommand(dir({ 'pytest.ini': '' })))?.command, 'python3 -m pytest');
  assert.equal(
    (await detectTestCommand(dir({ 'pyproject.toml': '[tool.pytest.ini_options]\n' })))?.command,
    'python3 -m pytest',
  );
  assert.equal((await detectTestCommand(dir({ 'tests/test_app.py': '' })))?.command, 'python3 -m pytest');
  assert.equal(await detectTestCommand(dir({ 'pyproject.toml': '[project]\nname="x"\n' })), undefined);
});

test('go, cargo and make', async () => {
  assert.equal((await detectTestCommand(dir({ 'go.mod': 'module x' })))?.command, 'go test ./...');
  assert.equal((await detectTestCommand(dir({ 'Cargo.toml': '[package]' })))?.command, 'cargo test');
  assert.equal((await detectTestCommand(dir({ Makefile: 'all:\n\techo\ntest: all\n\t./t\n' })))?.command, 'make test');
  assert.equal(await detectTestCommand(dir({ Makefile: 'all:\n\techo\n' })), undefined);
});

test('a broken package.json or a missing folder is not an error', async () => {
  assert.equal((await detectTestCommand(dir({ 'package.json': '{', 'Cargo.toml': '' })))?.command, 'cargo test');
  assert.equal(await detectTestCommand('/nonexistent/af-detect'), undefined);
});
