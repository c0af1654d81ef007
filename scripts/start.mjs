// `npm start`: build the extension and open a VS Code with it, on a folder, using the embedded server.
//   npm start                 a copy of test/fixtures/sample-workspace (kept in the e2e cache)
//   npm start -- /some/folder that folder
//   PORT=9000 npm start       code-server on that port (default 8080, or a free one if 8080 is taken)
//
// With a desktop `code` on PATH it runs `code --extensionDevelopmentPath=<repo> <folder>`.
// Otherwise (as on these machines) it installs Node 24 + code-server once (scripts/e2e-setup.mjs),
// packages the extension, installs it into a private extensions folder, starts code-server on
// 127.0.0.1 and prints the URL; it stays in the foreground until Ctrl+C and then stops what it started.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cacheDir, ensureE2eEnvironment } from './e2e-setup.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const say = (msg) => console.log(`[start] ${msg}`);

function onPath(cmd) {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' }).stdout.trim() || null;
}

function defaultFolder() {
  const folder = join(cacheDir(), 'start', 'sample-workspace');
  if (!existsSync(folder)) {
    say(`copying the sample workspace to ${folder}`);
    cpSync(join(root, 'test', 'fixtures', 'sample-workspace'), folder, { recursive: true });
    // A git repository, so that .gitignore means what it means in a real project.
    spawnSync('git', ['init', '-q', folder]);
  }
  return folder;
}

function portFree(port) {
  return new Promise((res) => {
    const srv = createServer();
    srv.once('error', () => res(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => res(true)));
  });
}

async function choosePort() {
  if (process.env.PORT) return Number(process.env.PORT);
  if (await portFree(8080)) return 8080;
  return new Promise((res) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => res(port));
    });
  });
}

// Ends what this script started: code-server's process group, and the extension's embedded
// server, which runs detached and is found by its command line (it lies under our state dir).
function stopAll(child, stateDir) {
  try {
    process.kill(-child.pid, 'SIGTERM');
  } catch {
    // already gone
  }
  for (const pid of readdirSync('/proc').filter((n) => /^\d+$/.test(n)).map(Number)) {
    if (pid === process.pid) continue;
    try {
      if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(stateDir)) process.kill(pid, 'SIGTERM');
    } catch {
      // exited meanwhile
    }
  }
}

const folder = resolve(process.argv[2] ?? defaultFolder());
if (!existsSync(folder)) {
  console.error(`[start] no such folder: ${folder}`);
  process.exit(2);
}

say('building the extension…');
execFileSync(process.execPath, [join(root, 'scripts', 'build.mjs')], { cwd: root, stdio: 'inherit' });

const code = onPath('code');
if (code && !process.env.AGENTFENSE_START_CODE_SERVER) {
  say(`opening ${folder} in ${code} with the extension loaded from ${root}`);
  const r = spawnSync(code, [`--extensionDevelopmentPath=${root}`, folder], { stdio: 'inherit' });
  process.exit(r.status ?? 1);
}

say('no desktop `code` on PATH: using code-server (a real VS Code in the browser)');
const env = await ensureE2eEnvironment();
const stateDir = join(env.cache, 'start');
const userData = join(stateDir, 'user-data');
const extensions = join(stateDir, 'extensions');
mkdirSync(join(userData, 'User'), { recursive: true, mode: 0o711 });
mkdirSync(extensions, { recursive: true, mode: 0o711 });
const settings = join(userData, 'User', 'settings.json');
if (!existsSync(settings)) {
  writeFileSync(
    settings,
    JSON.stringify(
      {
        'workbench.startupEditor': 'none',
        'telemetry.telemetryLevel': 'off',
        'extensions.autoUpdate': false,
        'security.workspace.trust.enabled': false,
      },
      null,
      2,
    ),
  );
}

const vsix = join(stateDir, 'agentfense.vsix');
say('packaging the extension (vsce)…');
execFileSync(join(root, 'node_modules', '.bin', 'vsce'), ['package', '--no-dependencies', '--out', vsix], {
  cwd: root,
  stdio: ['ignore', 'ignore', 'inherit'],
});
const codeServer = [env.codeServerEntry, '--user-data-dir', userData, '--extensions-dir', extensions];
const installed = spawnSync(env.node, [...codeServer, '--install-extension', vsix, '--force'], { encoding: 'utf8' });
if (installed.status !== 0) {
  console.error(`[start] installing the extension failed:\n${installed.stdout}${installed.stderr}`);
  process.exit(1);
}

const port = await choosePort();
const child = spawn(
  env.node,
  [
    ...codeServer,
    '--auth', 'none',
    '--bind-addr', `127.0.0.1:${port}`,
    '--disable-telemetry',
    '--disable-update-check',
    folder,
  ],
  { stdio: ['ignore', 'pipe', 'inherit'], detached: true },
);
child.stdout.on('data', (d) => {
  process.stdout.write(d);
  if (String(d).includes('HTTP server listening')) {
    say(`open  http://127.0.0.1:${port}/?folder=${encodeURIComponent(folder)}   (Ctrl+C to stop)`);
  }
});
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    say('stopping…');
    stopAll(child, stateDir);
    process.exit(0);
  });
}
child.on('exit', (c) => {
  say(`code-server exited (${c})`);
  stopAll(child, stateDir);
  process.exit(c ?? 1);
});
