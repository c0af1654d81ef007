// The unprivileged user `npm test` runs the integration, security and e2e suites as when it is
// started by root: real users run VS Code as themselves, and a non-root server takes other paths
// (copy-on-write by copying, no sandbox uid, no cgroups). Idempotent; root only.
//
// The user gets a copy of the repository (the checkout may sit under /root, which it cannot
// enter) and of the e2e cache (so Node 24 and code-server are not installed twice).
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { e2ePaths } from './e2e-setup.mjs';

export const TEST_USER = 'agentfense-test';

function idOf(flag) {
  const r = spawnSync('id', [flag, TEST_USER], { encoding: 'utf8' });
  return r.status === 0 ? Number(r.stdout.trim()) : null;
}

/** `tar` from one folder into another (fast for node_modules' many small files), minus `exclude`. */
function copyTree(from, to, exclude = []) {
  rmSync(to, { recursive: true, force: true });
  mkdirSync(to, { recursive: true });
  const tar = spawnSync(
    'sh',
    [
      '-c',
      'tar -C "$1" $2 -cf - . | tar -C "$3" -xf -',
      'sh',
      from,
      exclude.map((e) => `--exclude=./${e}`).join(' '),
      to,
    ],
    {
      stdio: 'inherit',
    },
  );
  if (tar.status !== 0) throw new Error(`copying ${from} to ${to} failed (exit ${tar.status})`);
}

/**
 * Creates the user if needed, gives it a private copy of the repository and of the e2e cache, and
 * returns how to run a command as it: { user, uid, gid, repo, env }.
 */
export function prepareTestUser(repoRoot) {
  if (idOf('-u') === null) {
    execFileSync('useradd', ['--create-home', '--shell', '/bin/bash', '--user-group', TEST_USER], { stdio: 'inherit' });
  }
  const uid = idOf('-u');
  const gid = idOf('-g');
  const home = join('/home', TEST_USER);
  // What a login gives a user (systemd-logind): a private runtime dir for its sockets.
  const runtimeDir = `/run/user/${uid}`;
  mkdirSync(runtimeDir, { recursive: true, mode: 0o700 });
  execFileSync('chown', [`${uid}:${gid}`, runtimeDir]);

  const repo = join(home, 'agentfense-vscode');
  copyTree(repoRoot, repo, ['.git', 'test-results']);

  // The e2e cache: copied only when the user's lacks the installed code-server.
  const ours = e2ePaths();
  const theirs = e2ePaths(join(home, '.cache', 'agentfense-e2e'));
  const installed = (p) => (existsSync(p.codeServerMarker) ? readFileSync(p.codeServerMarker, 'utf8') : null);
  if (installed(ours) && installed(ours) !== installed(theirs)) copyTree(ours.cache, theirs.cache);

  mkdirSync(join(home, '.cache'), { recursive: true });
  execFileSync('chown', ['-R', `${uid}:${gid}`, repo, join(home, '.cache')]);
  // The machine's environment (CA bundles, proxies, locale, CI) minus what belongs to root: its
  // identity, its folders and npm's per-run variables.
  const machine = Object.entries(process.env).filter(
    ([k, v]) =>
      !/^(HOME|USER|LOGNAME|MAIL|PWD|OLDPWD|SUDO_\w+|XDG_\w+|npm_\w+|AGENTFENSE_E2E_CACHE)$/i.test(k) &&
      !String(v)
        .split(':')
        .some((part) => part.startsWith('/root')),
  );
  const env = {
    ...Object.fromEntries(machine),
    HOME: home,
    USER: TEST_USER,
    LOGNAME: TEST_USER,
    SHELL: '/bin/bash',
    // Root's PATH minus what lies under /root, which the user cannot enter anyway.
    PATH: (process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin')
      .split(':')
      .filter((d) => d && !d.startsWith('/root'))
      .join(':'),
    XDG_RUNTIME_DIR: runtimeDir,
    AGENTFENSE_E2E_CACHE: theirs.cache,
  };
  return { user: TEST_USER, uid, gid, repo, env };
}
