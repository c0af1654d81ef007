/**
 * A host that cannot run sandboxes gets a diagnosis: the real server, real gRPC, each
 * condition made real — a PATH without bwrap, an old bwrap, a bwrap failing as a restricted
 * kernel makes it fail, a real user-namespace limit, sysctls read from files the test wrote —
 * and CreateSandbox/StartSandbox answer FAILED_PRECONDITION with the cause and the exact fix.
 *
 *   node scripts/build.mjs && node --import tsx --test test/integration/host-check.test.ts
 */
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { status, type ServiceError } from '@grpc/grpc-js';
import type { Sandbox } from '../../src/generated/sandbox';
import { HOST_NOT_READY } from '../../src/shared/hostReadiness';
import { runEnvironmentCheck } from '../../src/extension/server/environmentCheck';
import { call, makeTempDir, rules, SERVER_JS, startServer, type TestServer } from '../helpers/server';

const dirs: string[] = [];
after(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

/** A directory (reachable by the sandbox uid when root) holding an executable `bwrap` script. */
function fakeBwrapDir(script: string): string {
  const dir = makeTempDir('af-fake-bwrap-');
  dirs.push(dir);
  fs.writeFileSync(join(dir, 'bwrap'), script, { mode: 0o755 });
  return dir;
}

/** /proc/sys as the test wants it: { 'kernel/apparmor_restrict_unprivileged_userns': '1' }. */
function procSys(values: Record<string, string>): string {
  const dir = makeTempDir('af-proc-sys-');
  dirs.push(dir);
  for (const [file, value] of Object.entries(values)) {
    fs.mkdirSync(join(dir, file, '..'), { recursive: true });
    fs.writeFileSync(join(dir, file), value + '\n');
  }
  return dir;
}

const OLD_BWRAP = '#!/bin/sh\necho "bubblewrap 0.3.0"\n';
/** Prints a real version, and fails every sandbox as the kernel does with `message`. */
const failingBwrap = (message: string) =>
  `#!/bin/sh\nif [ "$1" = --version ]; then echo "bubblewrap 0.9.0"; exit 0; fi\necho ${JSON.stringify(message)} >&2\nexit 1\n`;
/** Real bwrap, in a user namespace whose user.max_user_namespaces is really 0. */
const LIMITED_BWRAP =
  '#!/bin/sh\nif [ "$1" = --version ]; then exec /usr/bin/bwrap --version; fi\n' +
  `exec unshare -U -r /bin/sh -c 'echo 0 > /proc/sys/user/max_user_namespaces && exec /usr/bin/bwrap "$@"' sh "$@"\n`;
const REAL_BWRAP = '#!/bin/sh\nexec /usr/bin/bwrap "$@"\n';

const envWith = (pathDir: string, extra: NodeJS.ProcessEnv = {}) => ({
  ...process.env,
  PATH: `${pathDir}:/usr/bin:/bin`,
  ...extra,
});
/** An empty PATH directory: nothing in it, and /usr/bin (where bwrap lives) not on PATH. */
const noBwrapEnv = () => {
  const dir = makeTempDir('af-empty-path-');
  dirs.push(dir);
  return { ...process.env, PATH: dir };
};

function createSandbox(server: TestServer, codebaseId: string): Promise<Sandbox> {
  return call<Sandbox>(server.sandboxes, server.sandboxes.createSandbox, {
    codebaseId,
    permissions: rules(['**/*', 'read']),
    labels: {},
    runtime: 0,
    image: '',
  });
}

async function refusal(p: Promise<unknown>): Promise<string> {
  const err = (await p.then(
    () => assert.fail('expected FAILED_PRECONDITION'),
    (e: ServiceError) => e,
  )) as ServiceError;
  assert.equal(err.code, status.FAILED_PRECONDITION, err.details);
  assert.ok(err.details.startsWith(HOST_NOT_READY), err.details);
  return err.details;
}

async function withServer(
  env: NodeJS.ProcessEnv,
  fn: (server: TestServer, codebaseId: string) => Promise<void>,
): Promise<void> {
  const server = await startServer({ env });
  try {
    await fn(server, await server.createCodebase({ 'a.txt': 'a\n' }));
  } finally {
    await server.stop();
  }
}

describe('host check: CreateSandbox on a host that cannot run sandboxes', () => {
  it('no bwrap on PATH: the package to install, and the server still serves codebases', async () => {
    await withServer(noBwrapEnv(), async (server, cb) => {
      const msg = await refusal(createSandbox(server, cb));
      assert.match(msg, /bubblewrap installed: bubblewrap \(bwrap\) is not installed/);
      assert.match(msg, /sudo apt-get install -y bubblewrap/);
      assert.match(msg, /sudo dnf install -y bubblewrap/);
      assert.deepEqual(await server.listFiles(cb), ['a.txt']);
    });
  });

  it('bwrap 0.3.0: the minimum version and how to upgrade', async () => {
    await withServer(envWith(fakeBwrapDir(OLD_BWRAP)), async (server, cb) => {
      const msg = await refusal(createSandbox(server, cb));
      assert.match(msg, /bubblewrap 0\.3\.0 is older than 0\.7\.0/);
      assert.match(msg, /--only-upgrade bubblewrap/);
    });
  });

  it('AppArmor restricts user namespaces (Ubuntu 23.10+): the profile, its path and apparmor_parser', async () => {
    const env = envWith(fakeBwrapDir(failingBwrap('bwrap: setting up uid map: Permission denied')), {
      AGENTFENSE_PROC_SYS: procSys({ 'kernel/apparmor_restrict_unprivileged_userns': '1' }),
    });
    await withServer(env, async (server, cb) => {
      const msg = await refusal(createSandbox(server, cb));
      assert.match(msg, /kernel\.apparmor_restrict_unprivileged_userns is 1/);
      assert.match(msg, /profile agentfense-bwrap \S*\/bwrap flags=\(unconfined\)/);
      assert.match(
        msg,
        /sudo tee \/etc\/apparmor\.d\/agentfense-bwrap, then sudo apparmor_parser -r \/etc\/apparmor\.d\/agentfense-bwrap/,
      );
      // The trial's failure is explained by the sysctl: said once, not twice.
      assert.doesNotMatch(msg, /trial sandbox starts/);
    });
  });

  it('kernel.unprivileged_userns_clone=0: the sysctl now and after a reboot', async () => {
    const message =
      "bwrap: No permissions to creating new namespace, likely because the kernel does not allow non-privileged user namespaces. On e.g. debian this can be enabled with 'sysctl kernel.unprivileged_userns_clone=1'.";
    const env = envWith(fakeBwrapDir(failingBwrap(message)), {
      AGENTFENSE_PROC_SYS: procSys({ 'kernel/unprivileged_userns_clone': '0', 'user/max_user_namespaces': '15000' }),
    });
    await withServer(env, async (server, cb) => {
      const msg = await refusal(createSandbox(server, cb));
      assert.match(msg, /kernel\.unprivileged_userns_clone is 0/);
      assert.match(
        msg,
        /sudo sysctl -w kernel\.unprivileged_userns_clone=1, then echo 'kernel\.unprivileged_userns_clone = 1' \| sudo tee -a \/etc\/sysctl\.d\/60-agentfense-userns\.conf/,
      );
    });
  });

  it('a real user-namespace limit of 0 (no sysctl file faked): the trial catches it and names user.max_user_namespaces', async () => {
    await withServer(envWith(fakeBwrapDir(LIMITED_BWRAP)), async (server, cb) => {
      const msg = await refusal(createSandbox(server, cb));
      assert.match(msg, /A trial sandbox starts .*: the limit on user namespaces is reached/);
      assert.match(msg, /sudo sysctl -w user\.max_user_namespaces=10000/);
    });
  });

  it('a restrictive sysctl on a host where bwrap works anyway is no refusal: the trial decides', async () => {
    const env = envWith(fakeBwrapDir(REAL_BWRAP), {
      AGENTFENSE_PROC_SYS: procSys({
        'kernel/apparmor_restrict_unprivileged_userns': '1',
        'kernel/unprivileged_userns_clone': '0',
      }),
    });
    await withServer(env, async (server, cb) => {
      const id = await server.startSandbox(cb, rules(['**/*', 'read']));
      assert.equal((await server.exec(id, 'cat a.txt')).stdout.toString(), 'a\n');
    });
  });
});

describe('host check: re-checked on demand, and StartSandbox too', () => {
  it('a fix applied while the server runs is seen at the next CreateSandbox, without a restart', async () => {
    const dir = fakeBwrapDir(failingBwrap('bwrap: setting up uid map: Permission denied'));
    await withServer(envWith(dir), async (server, cb) => {
      await refusal(createSandbox(server, cb));
      fs.writeFileSync(join(dir, 'bwrap'), REAL_BWRAP, { mode: 0o755 });
      const id = await server.startSandbox(cb, rules(['**/*', 'read']));
      assert.equal((await server.exec(id, 'echo ok')).stdout.toString(), 'ok\n');
    });
  });

  it('StartSandbox of a sandbox created before bwrap went away answers FAILED_PRECONDITION with the fix', async () => {
    const dir = makeTempDir();
    dirs.push(dir);
    const dataDir = join(dir, 'data');
    const first = await startServer({ dataDir });
    const cb = await first.createCodebase({ 'a.txt': 'a\n' });
    const sb = await createSandbox(first, cb);
    await first.stop();
    const second = await startServer({ dataDir, env: noBwrapEnv() });
    try {
      const msg = await refusal(call(second.sandboxes, second.sandboxes.startSandbox, { sandboxId: sb.id }));
      assert.match(msg, /sudo apt-get install -y bubblewrap/);
      // An unknown sandbox stays NOT_FOUND: the host is not blamed for a wrong id.
      await assert.rejects(
        call(second.sandboxes, second.sandboxes.startSandbox, { sandboxId: 'sb_0000000000000000' }),
        (e: ServiceError) => e.code === status.NOT_FOUND,
      );
    } finally {
      await second.stop();
    }
  });
});

describe('host check: what the extension runs (dist/server.js --check --json)', () => {
  it('reads the verdict of a host without bwrap, with each check and its fix', async () => {
    const r = await runEnvironmentCheck({ nodePath: process.execPath, serverScript: SERVER_JS, env: noBwrapEnv() });
    assert.equal(r.ready, false);
    const installed = r.checks.find((c) => c.id === 'bwrap-installed');
    assert.equal(installed?.status, 'fail');
    assert.ok(installed?.fix?.steps.some((s) => s.run === 'sudo apt-get install -y bubblewrap'));
    assert.equal(r.checks.find((c) => c.id === 'trial-sandbox')?.status, 'skip');
  });

  it('reads a ready verdict on this host', async () => {
    const r = await runEnvironmentCheck({ nodePath: process.execPath, serverScript: SERVER_JS, env: process.env });
    assert.equal(r.ready, true, JSON.stringify(r.checks.filter((c) => c.status === 'fail')));
    assert.equal(r.checks.find((c) => c.id === 'trial-sandbox')?.status, 'pass');
  });

  it('a script that is not the server is a clear error, not a parse failure', async () => {
    const dir = makeTempDir();
    dirs.push(dir);
    fs.writeFileSync(join(dir, 'not-server.js'), 'console.log("hello"); process.exit(3);\n');
    await assert.rejects(
      runEnvironmentCheck({ nodePath: process.execPath, serverScript: join(dir, 'not-server.js'), env: process.env }),
      /did not answer with a host check \(exit code 3\)/,
    );
  });
});
