/**
 * Denials as a person meets them: a run that reads .env fails; Re-run with Audit ends with the
 * line that names the rule; the Denials view lists the refusal under that rule; Allow Once
 * (after the secrets confirmation naming the rule) re-runs and reads it; Allow for This
 * Workspace shows the diff, writes the narrowest rule as a new preset that becomes active,
 * and its Undo puts everything back.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, afterEach, before, test } from 'node:test';
import { exitLine, runInSandbox, useAsActivePreset } from './harness/agentfense';
import { startSession, type Session } from './harness/session';
import { waitFor } from './harness/workbench';

let vs: Session;
before(async () => {
  vs = await startSession('denials');
});
after(() => vs?.stop());
afterEach((t) => vs?.screenshotIfFailed(t));

const oneLine = (t: string) => t.replace(/\n/g, '');

test('a run that reads .env: Re-run with Audit names the rule, the Denials view lists it, Allow Once reads it', async () => {
  await useAsActivePreset(vs, 'agent-safe');
  await runInSandbox(vs, 'cat .env');
  await vs.waitForTerminalText(exitLine(1), 120_000);
  await vs.clickNotificationButton('Re-run with Audit', 30_000);
  const audited = await vs.waitForTerminalText(/access(es)? refused[\s\S]*\[exit 1/, 120_000);
  assert.match(oneLine(audited), /1 access refused: \.env hidden by \*\*\/\.env\* \(agent-safe\)/);

  await vs.openViewContainer('AgentFense');
  await vs.treeItem('Denials', '**/.env*', 30_000);
  const row = await vs.treeItem('Denials', /^\.env/, 30_000);
  assert.match(await row.innerText(), /hidden · cat openat · needs read/);
  await vs.saveScreenshot('denials-view');

  await vs.treeItemAction('Denials', /^\.env/, 'Allow Once (Re-run with This Access)');
  assert.match(await vs.dialogText(), /secrets rule `\*\*\/\.env\*`/);
  await vs.answerDialog('Allow read of .env');
  const once = await vs.waitForTerminalText(/fake-secret-for-tests[\s\S]*\[exit 0/, 120_000);
  assert.match(oneLine(once), /agent-safe \+ read `\/\.env` over `\*\*\/\.env\*` \(none\) once/);
  assert.equal(existsSync(join(vs.workspace, '.agentfense')), false, 'Allow once writes no policy');
});

test('Allow for This Workspace: a diff first, then a preset with the one rule becomes active; Undo takes it back', async () => {
  const file = join(vs.workspace, '.agentfense', 'presets.json');
  const allow = async () => {
    await vs.dismissNotifications();
    await vs.treeItemAction('Denials', /^\.env/, 'Allow for This Workspace…');
    await vs.answerDialog('Allow read of .env'); // the secrets confirmation
    const question = await vs.dialogText();
    assert.match(question, /Adds preset "agent-safe-granted" \(agent-safe plus the rule read `\/\.env`/);
    assert.ok(await vs.isDiffEditorVisible(), 'the diff is shown before anything is written');
    await vs.answerDialog('Write the Rule');
    const written = await waitFor(
      'the rule in .agentfense/presets.json',
      async () => (existsSync(file) ? readFileSync(file, 'utf8') : ''),
      (t) => t.includes('agent-safe-granted'),
    );
    assert.deepEqual(JSON.parse(written)['agent-safe-granted'].rules, [
      { pattern: '/.env', permission: 'read', type: 'file', priority: 101 },
    ]);
    await waitFor(
      'the new preset to be active',
      () => vs.statusBarText(),
      (t) => /agent-safe-granted/.test(t),
    );
  };

  await allow();
  await vs.clickNotificationButton('Undo', 30_000);
  await waitFor(
    'the file to be gone',
    async () => existsSync(file),
    (exists) => !exists,
  );
  await waitFor(
    'agent-safe to be active again',
    () => vs.statusBarText(),
    (t) => /agent-safe(?!-granted)/.test(t),
  );

  await allow();
  await vs.clickNotificationButton('Run Again', 30_000);
  await vs.waitForTerminalText(/\[agent-safe-granted[\s\S]*fake-secret-for-tests[\s\S]*\[exit 0/, 120_000);
  await vs.saveScreenshot('denials-allowed');
});
