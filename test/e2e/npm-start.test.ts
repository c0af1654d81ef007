/**
 * `npm start` as a newcomer runs it: from npm, on a free port, behind its password; one command
 * run in the sandbox from the palette; then stopped the ways it gets stopped in real life (SIGTERM
 * from a process manager to npm, Ctrl+C, a closed terminal's SIGHUP, a signal to the script
 * itself). Whatever receives the signal, nothing it started may be left and the port must close.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { exitLine, runInSandbox } from './harness/agentfense';
import { launchBrowser, openPage } from './harness/browser';
import { E2E_USER_SETTINGS, freePort } from './harness/codeServer';
import { e2eEnvironment, REPO_ROOT } from './harness/environment';
import { killMatching, parentOf, processesMatching, processGroupOf } from './harness/processes';
import { waitFor, Workbench } from './harness/workbench';
import { copySampleWorkspace } from './harness/workspace';

const roots: string[] = [];
after(() => {
  for (const root of roots) {
    // code-server's main process re-executes itself without arguments: its group is found
    // through its children, whose command lines name the run's folder.
    for (const pgid of groupsOf(root)) killGroup(pgid);
    killMatching(root);
    rmSync(root, { recursive: true, force: true });
  }
});

/** Process groups (other than ours) of the processes whose command line names `root`. */
function groupsOf(root: string): Set<number> {
  const ours = processGroupOf(process.pid);
  const groups = processesMatching(root).map((p) => processGroupOf(p.pid));
  return new Set(groups.filter((g): g is number => g !== undefined && g !== ours));
}

function killGroup(pgid: number): void {
  try {
    process.kill(-pgid, 'SIGKILL');
  } catch {
    // already gone
  }
}

function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

interface NpmStart {
  npm: ChildProcess;
  root: string;
  folder: string;
  port: number;
  password: string;
  output: () => string;
  /** The process groups it started (code-server's among them), seen while it ran. */
  groups: Set<number>;
}

/** `npm start -- <copy of the sample workspace>` with a state dir of its own, up to its URL line. */
async function npmStart(): Promise<NpmStart> {
  await e2eEnvironment(); // installed before the clock of the URL wait starts
  // Short: the extension's server socket lives under the state dir and Linux caps socket paths.
  const root = realpathSync(mkdtempSync(join(tmpdir(), 'afst-')));
  roots.push(root);
  const folder = copySampleWorkspace(join(root, 'ws'));
  // The e2e settings (a terminal the test can read, no welcome pages); npm start keeps a
  // settings.json it finds and writes its own only when there is none.
  const userDir = join(root, 'state', 'user-data', 'User');
  mkdirSync(userDir, { recursive: true });
  writeFileSync(join(userDir, 'settings.json'), JSON.stringify(E2E_USER_SETTINGS, null, 2));
  const port = await freePort();
  const password = `pw-${port}-${Date.now()}`;
  const npm = spawn('npm', ['start', '--', folder], {
    cwd: REPO_ROOT,
    env: {
      ...process.env,
      PORT: String(port),
      PASSWORD: password,
      AGENTFENSE_START_STATE: join(root, 'state'),
      // The real thing even where a desktop `code` is on PATH.
      AGENTFENSE_START_CODE_SERVER: '1',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let text = '';
  npm.stdout!.on('data', (d) => (text += String(d)));
  npm.stderr!.on('data', (d) => (text += String(d)));
  const output = () => text;
  await waitFor(
    'npm start to print its URL and password',
    async () => output(),
    (t) => /\[start\] password: /.test(t) || npm.exitCode !== null,
    240_000,
  );
  assert.equal(npm.exitCode, null, `npm start exited early:\n${output()}`);
  assert.match(output(), new RegExp(`\\[start\\] open +http://127\\.0\\.0\\.1:${port}/`));
  assert.match(output(), new RegExp(`\\[start\\] password: ${password}`));
  // code-server runs in a group of its own, started by the script (npm's child).
  const script = processesMatching('scripts/start.mjs').find((p) => parentOf(p.pid) === npm.pid);
  assert.ok(script, "the start script runs as npm's child");
  const children = processesMatching('').filter((p) => parentOf(p.pid) === script.pid);
  const groups = new Set([
    ...children.map((p) => processGroupOf(p.pid)).filter((g): g is number => g !== undefined),
    ...groupsOf(root),
  ]);
  groups.delete(processGroupOf(process.pid)!);
  assert.ok(groups.size > 0, "code-server's process group is known");
  return { npm, root, folder, port, password, output, groups };
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => socket.destroy() && resolve(true));
    socket.once('error', () => resolve(false));
  });
}

/** After the signal: npm exits, no process mentioning the run's folder is left, the port is closed. */
async function assertAllStopped(run: NpmStart): Promise<void> {
  await waitFor(
    'npm to exit',
    async () => run.npm.exitCode ?? run.npm.signalCode,
    (c) => c !== null,
    30_000,
  );
  const left = await waitFor(
    'every process of the run to end',
    async () => processesMatching(run.root),
    (ps) => ps.length === 0,
    30_000,
  ).catch(() => processesMatching(run.root));
  assert.deepEqual(left, [], `left running after npm start was stopped:\n${run.output().slice(-3000)}`);
  for (const g of run.groups)
    assert.equal(
      await waitFor(
        `process group ${g} to end`,
        async () => groupAlive(g),
        (alive) => !alive,
        15_000,
      ).catch(() => true),
      false,
      `process group ${g} still has processes`,
    );
  assert.equal(await portOpen(run.port), false, `port ${run.port} still open`);
}

test('npm start: the URL and password open the workbench, a palette command runs in the sandbox, SIGTERM to npm stops it all', async () => {
  const run = await npmStart();
  const env = await e2eEnvironment();
  const browser = await launchBrowser(env.chromium);
  try {
    const page = await openPage(browser, `http://127.0.0.1:${run.port}/?folder=${encodeURIComponent(run.folder)}`);
    // code-server's login page: without the password the workbench stays closed.
    const passwordBox = page.locator('input[type="password"]');
    await passwordBox.waitFor({ state: 'visible', timeout: 60_000 });
    assert.equal(
      await page.locator('.monaco-workbench').count(),
      0,
      'the workbench must not open without the password',
    );
    await passwordBox.fill(run.password);
    await passwordBox.press('Enter');
    const vs = new Workbench(page);
    await vs.waitUntilReady('ws');
    await runInSandbox(vs, 'echo "smoke=$((40+2))"');
    const text = await vs.waitForTerminalText(exitLine(0), 120_000);
    assert.match(text, /smoke=42/);
    // The embedded server runs, under the state dir, before the stop.
    assert.ok(
      processesMatching(run.root).some((p) => p.cmd.includes('dist/server.js')),
      'the extension started its embedded server',
    );
  } finally {
    await browser.close().catch(() => undefined);
  }
  run.npm.kill('SIGTERM');
  await assertAllStopped(run);
});

for (const [sig, target] of [
  ['SIGINT', 'npm'],
  ['SIGHUP', 'npm'],
  ['SIGTERM', 'start.mjs'],
] as const) {
  test(`npm start: ${sig} to ${target} stops everything it started`, async () => {
    const run = await npmStart();
    // npm runs `sh -c "exec node scripts/start.mjs"`: the script is npm's child.
    const script = processesMatching('scripts/start.mjs').find((p) => parentOf(p.pid) === run.npm.pid);
    const pid = target === 'npm' ? run.npm.pid : script?.pid;
    assert.ok(pid, `the ${target} process runs`);
    process.kill(pid, sig);
    await assertAllStopped(run);
  });
}
