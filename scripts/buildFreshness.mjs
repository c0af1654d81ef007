// Whether dist/ holds a build of the current sources, so that `npm start` and the e2e harness
// build only when needed: a build rewrites dist/ under whatever else is reading it right then
// (an e2e test packaging the .vsix while the `npm start` test starts).
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** What scripts/build.mjs makes; the .vsix carries each (.vscodeignore, test/unit/packaging.test.ts). */
export const BUNDLES = [
  'dist/extension.js',
  'dist/server.js',
  'dist/mcp.js',
  'dist/seccomp.bpf',
  'dist/agentfense-pty',
  'dist/agentfense-netfwd',
  'dist/agentfense-init',
];

function newestMtime(path) {
  if (!statSync(path).isDirectory()) return statSync(path).mtimeMs;
  let newest = 0;
  for (const name of readdirSync(path)) newest = Math.max(newest, newestMtime(join(path, name)));
  return newest;
}

/** True when every bundle exists and is newer than src/, proto/ and package.json. */
export function distIsFresh(root) {
  const built = BUNDLES.map((b) => join(root, b));
  if (!built.every(existsSync)) return false;
  const oldestBuilt = Math.min(...built.map((b) => statSync(b).mtimeMs));
  const inputs = ['src', 'proto', 'package.json'].map((p) => join(root, p)).filter(existsSync);
  return oldestBuilt > Math.max(...inputs.map(newestMtime));
}
