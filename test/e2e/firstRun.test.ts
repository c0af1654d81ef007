/**
 * A first activation as a new user meets it: the "Get started" walkthrough opens by itself.
 * (Every other suite turns it off: agentfense.walkthrough.openOnFirstRun in the harness.)
 */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, afterEach, before, test } from 'node:test';
import { startSession, type Session } from './harness/session';
import { waitFor } from './harness/workbench';

let vs: Session;
before(async () => {
  vs = await startSession('first-run', {
    // A workspace setting wins over the harness's user setting: this session is a first run.
    prepareWorkspace: (workspace) => {
      mkdirSync(join(workspace, '.vscode'), { recursive: true });
      writeFileSync(
        join(workspace, '.vscode', 'settings.json'),
        JSON.stringify({ 'agentfense.walkthrough.openOnFirstRun': true }),
      );
    },
  });
});
after(() => vs?.stop());
afterEach((t) => vs?.screenshotIfFailed(t));

test('the first activation opens the AgentFense walkthrough', async () => {
  const title = await waitFor(
    'the Welcome editor',
    () => vs.activeEditorTitle(),
    (t) => /Welcome/.test(t),
    60_000,
  );
  assert.match(title, /Welcome/);
  const text = await waitFor(
    'the AgentFense walkthrough on it',
    () =>
      vs.page
        .locator('.gettingStartedContainer')
        .first()
        .innerText()
        .catch(() => ''),
    (t) => /Get started with AgentFense/.test(t),
    30_000,
  );
  assert.match(text, /Upload your workspace/);
});
