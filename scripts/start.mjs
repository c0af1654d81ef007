// `npm start`: build the extension and open a VS Code with it, on a folder, using the embedded server.
//   npm start                 a copy of test/fixtures/sample-workspace (kept in the e2e cache)
//   npm start -- /some/folder that folder
//   PORT=9000 npm start       code-server on that port (default 8080, or a free one if 8080 is taken)
//
// With a desktop `code` on PATH it runs `code --extensionDevelopmentPath=<repo> <folder>`.
// Otherwise (as on these machines) it installs Node 24 + code-server once (scripts/e2e-setup.mjs),
// packages the extension, installs it into a private extensions folder, starts code-server on
// 127.0.0.1 behind a password and prints the URL and the password; it stays in the foreground
// until Ctrl+C (or SIGTERM, SIGHUP, its terminal closing) and then stops everything it started.
//   PASSWORD=…  npm start    that password instead of a random one
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { distIsFresh } from './buildFreshness.mjs';
import { cacheDir, cleanNpmEnv, ensureE2eEnvironment, ensureHostPackages } from './e2e-setup.mjs';

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
// SIGTERM first, so the server can stop its sandboxes and unmount; SIGKILL what is left.
async function stopAll(child, stateDir) {
  const ours = () => [
    ...(child?.pid ? [-child.pid] : []),
    ...readdirSync('/proc')
      .filter((n) => /^\d+$/.test(n))
      .map(Number)
      .filter((pid) => pid !== process.pid && cmdlineOf(pid).includes(stateDir)),
  ];
  const signal = (pid, sig) => {
    try {
      process.kill(pid, sig);
      return true;
    } catch {
      return false; // already gone
    }
  };
  let left = ours().filter((pid) => signal(pid, 'SIGTERM'));
  const deadline = Date.now() + 8000;
  while (left.length && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
    left = ours().filter((pid) => signal(pid, 0));
  }
  for (const pid of left) signal(pid, 'SIGKILL');
}

function cmdlineOf(pid) {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return ''; // exited meanwhile
  }
}

// Stops everything once, whichever way the end comes: a signal to this process (npm forwards
// SIGINT and SIGTERM to it), the terminal closing (SIGHUP, or EPIPE on stdout), or the process
// that launched us dying (SIGKILL or SIGHUP to npm leaves us re-parented: npm does not forward those).
let stopping = null;
let running = { child: null, stateDir: null };
function shutDown(why, code = 0) {
  if (stopping) return stopping;
  try {
    say(`stopping (${why})…`);
  } catch {
    // stdout may be the closed terminal
  }
  stopping = (running.stateDir ? stopAll(running.child, running.stateDir) : Promise.resolve()).finally(() =>
    process.exit(code),
  );
  return stopping;
}
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(sig, () => shutDown(sig));
process.stdout.on('error', () => shutDown('stdout closed'));
const launcher = process.ppid;
setInterval(() => {
  if (process.ppid !== launcher) shutDown(`the launching process ${launcher} is gone`);
}, 500).unref();

const folder = resolve(process.argv[2] ?? defaultFolder());
if (!existsSync(folder)) {
  console.error(`[start] no such folder: ${folder}`);
  process.exit(2);
}

// Before the build: it compiles the seccomp program and the terminal helper with them.
await ensureHostPackages();
if (distIsFresh(root)) say('dist/ is up to date with src/');
else {
  say('building the extension…');
  execFileSync(process.execPath, [join(root, 'scripts', 'build.mjs')], { cwd: root, stdio: 'inherit' });
}

const code = onPath('code');
if (code && !process.env.AGENTFENSE_START_CODE_SERVER) {
  say(`opening ${folder} in ${code} with the extension loaded from ${root}`);
  const r = spawnSync(code, [`--extensionDevelopmentPath=${root}`, folder], { stdio: 'inherit' });
  process.exit(r.status ?? 1);
}

say('no desktop `code` on PATH: using code-server (a real VS Code in the browser)');
const env = await ensureE2eEnvironment();
// AGENTFENSE_START_STATE: a state dir of one's own (the e2e test of `npm start` uses it).
const stateDir = resolve(process.env.AGENTFENSE_START_STATE || join(env.cache, 'start'));
running.stateDir = stateDir;
const userData = join(stateDir, 'user-data');
const extensions = join(stateDir, 'extensions');
// Private: the user data holds the extension's data dir (codebase blobs, the server socket).
mkdirSync(join(userData, 'User'), { recursive: true, mode: 0o700 });
mkdirSync(extensions, { recursive: true, mode: 0o700 });
for (const d of [stateDir, userData, extensions]) chmodSync(d, 0o700);
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
execFileSync(
  join(root, 'node_modules', '.bin', 'vsce'),
  ['package', '--no-dependencies', '--no-rewrite-relative-links', '--out', vsix],
  {
    cwd: root,
    stdio: ['ignore', 'ignore', 'inherit'],
  },
);
const codeServer = [env.codeServerEntry, '--user-data-dir', userData, '--extensions-dir', extensions];
const installed = spawnSync(env.node, [...codeServer, '--install-extension', vsix, '--force'], { encoding: 'utf8' });
if (installed.status !== 0) {
  console.error(`[start] installing the extension failed:\n${installed.stdout}${installed.stderr}`);
  process.exit(1);
}

const port = await choosePort();
// code-server answers anyone who can reach the port, other local users included: a password
// (PASSWORD, or a fresh random one) keeps them out of the workspace and its files.
const password = process.env.PASSWORD || randomBytes(18).toString('base64url');
const child = spawn(
  env.node,
  [
    ...codeServer,
    '--auth',
    'password',
    '--bind-addr',
    `127.0.0.1:${port}`,
    '--disable-telemetry',
    '--disable-update-check',
    folder,
  ],
  // No npm_* variables: code-server and the terminals it opens should not see npm's config.
  { stdio: ['ignore', 'pipe', 'inherit'], detached: true, env: { ...cleanNpmEnv(), PASSWORD: password } },
);
running.child = child;
child.stdout.on('data', (d) => {
  process.stdout.write(d);
  if (String(d).includes('HTTP server listening')) {
    say(`open  http://127.0.0.1:${port}/?folder=${encodeURIComponent(folder)}   (Ctrl+C to stop)`);
    say(`password: ${password}`);
  }
});
child.on('exit', (c) => {
  if (!stopping) say(`code-server exited (${c})`);
  shutDown('code-server exited', c ?? 1);
});
