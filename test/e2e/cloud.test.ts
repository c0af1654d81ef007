/**
 * The cloud backend as a person uses it, against a real E2B-protocol server (the embedded
 * server's E2B front, on this machine's loopback) as provider `custom`: user settings choose
 * it, the key is typed into "Set Cloud API Key", a palette command runs in a cloud sandbox (its
 * header names the provider; the secret never left the machine), the Sandboxes view lists the
 * sandbox with its provider, the run's change waits for review and Accept writes it.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, afterEach, before, describe, test } from 'node:test';
import { Sandbox } from 'e2b';
import { exitLine, runInSandbox } from './harness/agentfense';
import { startSession, type Session } from './harness/session';
import { waitFor } from './harness/workbench';
import { startE2bServer, type E2bTestServer } from '../helpers/e2bServer';

describe('a cloud backend in VS Code', () => {
  let front: E2bTestServer;
  let vs: Session;
  before(async () => {
    front = await startE2bServer();
    vs = await startSession('cloud', {
      userSettings: {
        'agentfense.backend': 'e2b',
        'agentfense.cloud.provider': 'custom',
        'agentfense.cloud.apiUrl': front.url,
      },
    });
  });
  after(async () => {
    await vs?.stop();
    await front?.server.stop();
  });
  afterEach((t) => vs?.screenshotIfFailed(t));

  test('the API key goes into the keychain through its command', async () => {
    await vs.runCommand('AgentFense: Set Cloud API Key');
    await vs.answerInputBox(front.apiKey);
    await waitFor(
      'the key to be saved',
      () => vs.notifications(),
      (n) => n.some((m) => /API key for custom E2B server .* saved/.test(m)),
      30_000,
    );
    await vs.dismissNotifications();
  });

  test('a command runs in a cloud sandbox; a none file never left the machine', async () => {
    await runInSandbox(vs, 'mkdir -p output && echo from-the-cloud > output/cloud-note.txt; cat .env');
    const text = (await vs.waitForTerminalText(exitLine(1), 180_000)).replace(/\n/g, '');
    assert.match(text, /\[agent-safe · sandbox \S+ · ~\/workspace · custom E2B server \(http:\/\/127\.0\.0\.1:\d+\)/);
    assert.match(text, /\.env: No such file or directory/);
    // What the provider holds: the front's own listing of the sandbox's workspace folder.
    const [info] = await Sandbox.list({
      ...front.sdk,
      query: { metadata: { 'agentfense.app': 'agentfense' } },
    }).nextItems();
    assert.ok(info, 'the sandbox is tagged for the sweep');
    const sbx = await Sandbox.connect(info.sandboxId, front.sdk);
    const listed = await sbx.commands.run('cd workspace && find . -type f | sort');
    assert.match(listed.stdout, /\.\/src\/math\.js/);
    assert.doesNotMatch(listed.stdout, /\.env|key\.pem/, 'none files were never uploaded');
  });

  test('the Sandboxes view lists it with its provider', async () => {
    await vs.openViewContainer('AgentFense');
    const shown = await waitFor(
      'the cloud sandbox in the Sandboxes view',
      async () => (await (await vs.view('Sandboxes')).innerText()).replace(/\s+/g, ' '),
      (t) => t.includes('custom E2B server'),
      60_000,
    );
    assert.match(shown, /running · agent-safe · .* · custom E2B server/);
  });

  test('the sandbox terminal runs each line in the cloud sandbox and keeps cd', async () => {
    await vs.runCommand('AgentFense: Open Sandbox Terminal');
    await vs.typeInTerminal('cd src');
    await vs.typeInTerminal('echo "cwd=$(pwd) n=$((20+22))"; ls');
    const text = await vs.waitForTerminalText(/cwd=\S*\/workspace\/src n=42/, 60_000);
    assert.match(text, /math\.js/);
  });

  test('the change waits for review; Accept writes it into the workspace', async () => {
    const note = join(vs.workspace, 'output', 'cloud-note.txt');
    assert.ok(!existsSync(note), 'nothing reaches the workspace before review');
    await vs.openViewContainer('Source Control');
    await waitFor(
      'cloud-note.txt in the AgentFense source-control view',
      () => vs.scmRows(),
      (rows) => rows.some((r) => r.startsWith('cloud-note.txt')),
      60_000,
    );
    await vs.scmResourceAction('cloud-note.txt', /^Accept/i);
    await waitFor(
      'the accepted file on disk',
      async () => (existsSync(note) ? readFileSync(note, 'utf8') : ''),
      (t) => t === 'from-the-cloud\n',
      30_000,
    );
  });
});
