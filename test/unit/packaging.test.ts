// What the .vsix carries (.vscodeignore, as vsce reads it): what runs, and nothing for the repository only.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { listFiles, PackageManager } from '@vscode/vsce';

test('the .vsix carries the bundles, the seccomp program, the schema and the walkthrough, and no screenshots', async () => {
  const files = await listFiles({ cwd: join(__dirname, '..', '..'), packageManager: PackageManager.None });
  for (const f of ['package.json', 'dist/extension.js', 'dist/server.js', 'dist/seccomp.bpf', 'media/agentfense.svg'])
    assert.ok(files.includes(f), `${f} is packaged: ${files.join(', ')}`);
  assert.ok(files.some((f) => f.startsWith('media/walkthrough/')));
  assert.deepEqual(
    files.filter((f) => f.startsWith('media/screenshots/') || f.startsWith('src/') || f.startsWith('test/')),
    [],
  );
});
