/**
 * The Docker runtime as a person uses it: a workspace preset that says `"runtime": "docker"` with
 * an image, made active in the Presets view; a command run from the palette runs in a container
 * of that image (its header says so), the Sandboxes view shows the runtime and image, the
 * command's change waits for review, and Check Environment reports the engine. The engine is a
 * private dockerd (helpers/runtimes.ts) that VS Code finds through DOCKER_HOST, as a user's would.
 */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, afterEach, before, describe, test } from 'node:test';
import { exitLine, runInSandbox, useAsActivePreset } from './harness/agentfense';
import { startSession, type Session } from './harness/session';
import { waitFor } from './harness/workbench';
import { DOCKER } from '../helpers/runtimes';

const PRESET = 'in-docker';

describe('a Docker preset in VS Code', DOCKER.skip, () => {
  let vs: Session;
  before(async () => {
    await DOCKER.setUp();
    vs = await startSession('docker', {
      env: { DOCKER_HOST: `unix://${DOCKER.socket}` },
      prepareWorkspace: (workspace) => {
        mkdirSync(join(workspace, '.agentfense'), { recursive: true });
        writeFileSync(
          join(workspace, '.agentfense', 'presets.json'),
          JSON.stringify({ [PRESET]: { extends: 'development', runtime: 'docker', image: DOCKER.image } }, null, 2),
        );
      },
    });
  });
  after(async () => {
    await vs?.stop();
    await DOCKER.tearDown();
  });
  afterEach((t) => vs?.screenshotIfFailed(t));

  test('a command runs in a container of the preset’s image, and says so', async () => {
    await useAsActivePreset(vs, PRESET);
    await runInSandbox(vs, 'tr "\\0" " " < /proc/1/cmdline; echo; echo from-docker > docker-note.txt; cat .env');
    const text = (await vs.waitForTerminalText(exitLine(1), 180_000)).replace(/\n/g, '');
    assert.match(text, new RegExp(`\\[${PRESET} · sandbox \\S+ · /workspace · .* · docker ${DOCKER.image}`));
    assert.match(text, /\/run\/agentfense\/init/, "the container's init is pid 1");
    assert.match(text, /\.env: No such file or directory/, 'the same view as bubblewrap: .env is not there');
    await vs.saveScreenshot('docker-run');
  });

  test('the Sandboxes view shows the runtime and image', async () => {
    await vs.openViewContainer('AgentFense');
    const shown = await waitFor(
      'the Docker sandbox in the Sandboxes view',
      async () => {
        for (const label of await vs.treeLabels('Sandboxes')) {
          if (/codebase|workspace/i.test(label)) await vs.expandTreeItem('Sandboxes', label).catch(() => undefined);
        }
        return (await (await vs.view('Sandboxes')).innerText()).replace(/\s+/g, ' ');
      },
      (t) => t.includes(`docker ${DOCKER.image}`),
      60_000,
    );
    assert.match(shown, new RegExp(`running · ${PRESET} · .* · docker ${DOCKER.image.replace(/[/.]/g, '\\$&')}`));
  });

  test('what the command wrote waits for review', async () => {
    await vs.openViewContainer('Source Control');
    const rows = await waitFor(
      'docker-note.txt in the AgentFense source-control view',
      () => vs.scmRows(),
      (r) => r.some((row) => row.startsWith('docker-note.txt')),
      60_000,
    );
    assert.ok(rows.some((row) => row.startsWith('docker-note.txt')));
  });

  test('Check Environment reports the Docker engine', async () => {
    await vs.runCommand('AgentFense: Check Environment');
    const report = await waitFor(
      'the environment report',
      () => vs.editorText(),
      (t) => /Docker engine/.test(t),
      120_000,
    );
    assert.match(report, /✓.*Docker engine \(for Docker sandboxes\).*Docker \d+\.\d+/);
  });
});
