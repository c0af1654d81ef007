// What the .vsix carries (.vscodeignore, as vsce reads it): what runs, and nothing for the repository only.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { listFiles, PackageManager } from '@vscode/vsce';

test('the .vsix carries the bundles, the seccomp program, the terminal helper, the egress forwarder, the schema and the walkthrough, and no screenshots', async () => {
  const files = await listFiles({ cwd: join(__dirname, '..', '..'), packageManager: PackageManager.None });
  const shipped = [
    'package.json',
    'dist/extension.js',
    'dist/server.js',
    'dist/seccomp.bpf',
    'dist/agentfense-pty',
    'dist/agentfense-netfwd',
    'media/agentfense.svg',
  ];
  for (const f of shipped) assert.ok(files.includes(f), `${f} is packaged: ${files.join(', ')}`);
  assert.ok(files.some((f) => f.startsWith('media/walkthrough/')));
  assert.deepEqual(
    files.filter((f) => f.startsWith('media/screenshots/') || f.startsWith('src/') || f.startsWith('test/')),
    [],
  );
});
