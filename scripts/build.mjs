// Bundles the extension and the embedded server with esbuild.
//   node scripts/build.mjs [--production] [--watch]
import * as esbuild from 'esbuild';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync } from 'node:fs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const production = process.argv.includes('--production');
const watch = process.argv.includes('--watch');

execFileSync(process.execPath, [join(root, 'scripts', 'gen-proto.mjs')], { stdio: 'inherit' });

const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: production ? false : 'linked',
  minify: production,
  logLevel: 'warning',
  absWorkingDir: root,
};

const builds = [
  { ...common, entryPoints: ['src/extension/main.ts'], outfile: 'dist/extension.js', external: ['vscode'] },
  {
    ...common,
    entryPoints: ['src/server/main.ts'],
    outfile: 'dist/server.js',
    // dockerode's ssh:// transport, which the server does not offer (scripts/bundleStubs/ssh2.cjs).
    alias: { ssh2: './scripts/bundleStubs/ssh2.cjs' },
  },
  // `agentfense-mcp` (package.json bin): runnable on its own, so it starts with a shebang.
  {
    ...common,
    entryPoints: ['src/mcp/main.ts'],
    outfile: 'dist/mcp.js',
    banner: { js: '#!/usr/bin/env node' },
  },
];

// The sandboxes' seccomp program (dist/seccomp.bpf, next to dist/server.js), built by
// libseccomp from the readable policy. Debian's python3 (not a pyenv one) has python3-seccomp.
mkdirSync(join(root, 'dist'), { recursive: true });
execFileSync(
  '/usr/bin/python3',
  [
    join(root, 'scripts', 'build-seccomp.py'),
    join(root, 'src', 'server', 'sandbox', 'runtime', 'seccomp-policy.json'),
    join(root, 'dist', 'seccomp.bpf'),
  ],
  { stdio: 'inherit' },
);

// The helpers that run inside sandboxes: static, so they run on whatever a sandbox's root file
// system holds. Debian: apt-get install -y gcc libc6-dev.
function buildStaticHelper(output, source) {
  execFileSync('cc', ['-static', '-O2', '-Wall', '-Werror', '-o', join(root, 'dist', output), join(root, source)], {
    stdio: 'inherit',
  });
}
// The terminal helper: interactive terminals run through it.
buildStaticHelper('agentfense-pty', 'src/server/sandbox/runtime/ptyHelper.c');
// The egress forwarder: a sandbox with network reaches its proxy through it.
buildStaticHelper('agentfense-netfwd', 'src/server/network/netForwarder.c');
// The Docker runtime's init and per-command runner: bound into each sandbox container.
buildStaticHelper('agentfense-init', 'src/server/sandbox/docker/containerInit.c');

if (watch) {
  for (const options of builds) await (await esbuild.context(options)).watch();
  console.log('watching for changes…');
} else {
  await Promise.all(builds.map((options) => esbuild.build(options)));
  chmodSync(join(root, 'dist', 'mcp.js'), 0o755);
}
