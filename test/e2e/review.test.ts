/**
 * Reviewing what a sandboxed run changed: the changes appear in the AgentFense source-control
 * view, open as a diff, reach the workspace only when accepted, and Undo takes an accepted change back.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { after, afterEach, before, test } from 'node:test';
import { useAsActivePreset, runInSandbox, exitLine } from './harness/agentfense';
import { startSession, type Session } from './harness/session';
import { waitFor } from './harness/workbench';

let vs: Session;
before(async () => {
  vs = await startSession('review');
});
after(() => vs?.stop());
afterEach((t) => vs?.screenshotIfFailed(t));

test('a run under development lists its changes for review; accept applies one, Undo reverts it', async () => {
  const mathOnDisk = () => readFileSync(join(vs.workspace, 'src', 'math.js'), 'utf8');
  const original = mathOnDisk();

  await useAsActivePreset(vs, 'development');
  // The choice is the workspace's own state: nothing is written into the project for it.
  assert.ok(!existsSync(join(vs.workspace, '.vscode', 'settings.json')), 'choosing a preset writes no settings.json');
  await runInSandbox(vs, "echo hi > new.txt; echo '// edited' >> src/math.js");
  await vs.waitForTerminalText(exitLine(0), 120_000);

  // Nothing reaches the workspace before review.
  assert.equal(mathOnDisk(), original, 'src/math.js is untouched until accepted');
  assert.ok(!existsSync(join(vs.workspace, 'new.txt')), 'new.txt is not created until accepted');

  await vs.openViewContainer('Source Control');
  await waitFor(
    'new.txt and math.js in the AgentFense source-control view',
    () => vs.scmRows(),
    (rows) => rows.some((r) => r.startsWith('new.txt')) && rows.some((r) => r.startsWith('math.js')),
    60_000,
  );
  assert.ok(
    (await vs.scmRows()).some((r) => /AgentFense/i.test(r)),
    'the changes are under the AgentFense provider',
  );

  await vs.scmResource('math.js').click();
  await waitFor(
    'a diff editor',
    () => vs.isDiffEditorVisible(),
    (v) => v,
    30_000,
  );
  await waitFor(
    'the diff to show the added line',
    () => vs.editorText(),
    (t) => t.includes('// edited'),
    30_000,
  );
  await vs.saveScreenshot('review-diff');

  await vs.scmResourceAction('math.js', /^Accept/i);
  await vs.openFile('math.js');
  await waitFor(
    'math.js to contain the accepted line',
    () => vs.editorText(),
    (t) => t.includes('// edited'),
    30_000,
  );
  await waitFor(
    'the accepted line on disk',
    async () => mathOnDisk(),
    (t) => t.includes('// edited'),
    10_000,
  );
  assert.ok(!existsSync(join(vs.workspace, 'new.txt')), 'accepting math.js does not accept new.txt');

  await vs.page.keyboard.press('Control+Z');
  await waitFor(
    'Undo to take the line back',
    () => vs.editorText(),
    (t) => !t.includes('// edited'),
    30_000,
  );
  await vs.page.keyboard.press('Control+S');
  await waitFor(
    'the file on disk to be as before',
    async () => mathOnDisk(),
    (t) => t === original,
    10_000,
  );
});

test('after a window reload, the pending change, the preset and the sandbox are back before any command', async () => {
  // The page really reloads (else the old DOM would answer every check below).
  await Promise.all([vs.page.waitForEvent('load', { timeout: 60_000 }), vs.runCommand('Developer: Reload Window')]);
  await waitFor(
    'the extension to be back',
    () => vs.statusBarText(),
    (t) => /AgentFense/.test(t),
    90_000,
  );
  await vs.openViewContainer('Source Control');
  // new.txt was not accepted: it is still pending.
  await waitFor(
    'new.txt in the AgentFense source-control view after the reload',
    () => vs.scmRows(),
    (rows) => rows.some((r) => r.startsWith('new.txt')),
    60_000,
  );
  assert.match(await vs.statusBarText(), /development/, 'the chosen preset is remembered');
  await vs.openViewContainer('AgentFense');
  await waitFor(
    "the workspace's codebase in the Sandboxes view",
    () => vs.treeLabels('Sandboxes'),
    (labels) => labels.some((l) => l.includes(basename(vs.workspace))),
    60_000,
  );
});

test('switching the preset stops the workspace sandbox of the previous one', async () => {
  await useAsActivePreset(vs, 'agent-safe');
  await vs.openViewContainer('AgentFense');
  const text = await waitFor(
    'the development sandbox to be shown stopped',
    async () => (await (await vs.view('Sandboxes')).innerText()).replace(/\s+/g, ' '),
    (t) => /stopped · development/.test(t),
    60_000,
  );
  assert.doesNotMatch(text, /running · development/);
});
