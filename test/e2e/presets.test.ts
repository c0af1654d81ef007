/**
 * The extension as a person first meets it: installed from its .vsix, an "AgentFense" view
 * container with the five built-in presets, and the active preset's rules shown on the files in
 * the Explorer.
 */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, afterEach, before, test } from 'node:test';
import { useAsActivePreset } from './harness/agentfense';
import { startSession, type Session } from './harness/session';
import { waitFor } from './harness/workbench';

const PRESETS = ['agent-safe', 'read-only', 'development', 'full-access', 'view-only'];

let vs: Session;
before(async () => {
  vs = await startSession('presets');
});
after(() => vs?.stop());
afterEach((t) => vs?.screenshotIfFailed(t));

test('the packaged extension is installed and activated (Developer: Show Running Extensions)', async () => {
  await vs.runCommand('Developer: Show Running Extensions');
  const row = vs.page
    .locator('.monaco-list-row')
    .filter({ has: vs.page.locator('.name', { hasText: /^AgentFense$/ }) });
  const text = await waitFor(
    'AgentFense among the running extensions',
    () => row.first().innerText(),
    (t) => /Activation/.test(t),
    60_000,
  );
  assert.match(text, /0\.1\.0/, 'the version from package.json');
  await vs.page.keyboard.press('Escape');
});

test('the AgentFense view lists the five built-in presets, and agent-safe shows its rules', async () => {
  await vs.openViewContainer('AgentFense');
  const labels = await waitFor(
    'the Presets view to list the five built-in presets',
    () => vs.treeLabels('Presets'),
    (l) => PRESETS.every((p) => l.includes(p)),
    60_000,
  );
  assert.deepEqual(
    labels.filter((l) => PRESETS.includes(l)),
    PRESETS,
    'presets in the SDK order',
  );
  await vs.expandTreeItem('Presets', 'agent-safe');
  const rules = await waitFor(
    'agent-safe to show its rules',
    async () => (await (await vs.view('Presets')).innerText()).replace(/\s+/g, ' '),
    (text) => text.includes('**/.env*'),
  );
  assert.match(rules, /\*\*\/\.env\*/, 'the secret-hiding rule');
  assert.match(rules, /\*\*\/secrets\/\*\*/, 'the secrets folder rule');
  assert.match(rules, /network ?off/, 'and its network');
  await vs.saveScreenshot('presets-view');
});

test('with agent-safe active, the Explorer says .env is not uploaded, secrets/ hidden by a rule, src/ read-only', async () => {
  await useAsActivePreset(vs, 'agent-safe');
  await vs.openViewContainer('Explorer');
  // .env never reaches the sandbox (the upload's default exclusions), whatever the preset says.
  const env = await waitFor(
    'a decoration on .env',
    () => vs.explorerDecoration('.env', { hover: true }),
    (d) => /not uploaded/i.test(`${d.ariaLabel} ${d.hover}`),
  );
  assert.match(
    `${env.ariaLabel} ${env.hover}`,
    /not uploaded: excluded by AgentFense's default upload exclusion "\.env"/,
    `.env: ${env.hover}`,
  );
  const secrets = await waitFor(
    'a decoration on secrets',
    () => vs.explorerDecoration('secrets', { hover: true }),
    (d) => /hidden/i.test(`${d.ariaLabel} ${d.hover}`),
  );
  assert.match(
    `${secrets.ariaLabel} ${secrets.hover}`,
    /hidden by rule "\*\*\/secrets\/\*\*"/,
    `secrets/: ${secrets.hover}`,
  );
  const src = await waitFor(
    'a decoration on src',
    () => vs.explorerDecoration('src', { hover: true }),
    (d) => /read/i.test(`${d.ariaLabel} ${d.hover}`),
  );
  assert.doesNotMatch(
    `${src.ariaLabel} ${src.hover}`,
    /hidden|write|not uploaded/i,
    `src/ is read-only under agent-safe: ${src.hover}`,
  );
  await vs.saveScreenshot('explorer-decorations');
});

test('with read-only active, .env is still "not uploaded", never "read-only in the sandbox"', async () => {
  await useAsActivePreset(vs, 'read-only');
  await vs.openViewContainer('Explorer');
  // The decoration's tooltip as the row's aria-label carries it (the hover itself was read above).
  const env = await waitFor(
    'the .env decoration under read-only',
    () => vs.explorerDecoration('.env'),
    (d) => /\(read-only\)|not uploaded/i.test(`${d.ariaLabel} ${d.hover}`),
  );
  assert.match(`${env.ariaLabel} ${env.hover}`, /not uploaded/, `.env: ${env.hover}`);
  assert.doesNotMatch(`${env.ariaLabel} ${env.hover}`, /read-only in the sandbox/, `.env: ${env.hover}`);
  const secrets = await waitFor(
    'the secrets decoration under read-only',
    () => vs.explorerDecoration('secrets'),
    (d) => /\(read-only\)/.test(`${d.ariaLabel} ${d.hover}`),
  );
  assert.match(`${secrets.ariaLabel} ${secrets.hover}`, /hidden by rule/, `secrets/ under read-only: ${secrets.hover}`);
  await useAsActivePreset(vs, 'agent-safe');
});

test('a misspelled key in .agentfense/presets.json is a red squiggle that names it', async () => {
  mkdirSync(join(vs.workspace, '.agentfense'), { recursive: true });
  writeFileSync(
    join(vs.workspace, '.agentfense', 'presets.json'),
    JSON.stringify({ docs: { extends: 'agent-safe', rules: [{ pattern: 'docs/**', permision: 'write' }] } }, null, 2),
  );
  await vs.openFile('presets.json');
  // The schema (package.json jsonValidation) reaches VS Code's JSON language service.
  const problems = await waitFor(
    'the misspelled key in the Problems panel',
    () => vs.problems(),
    (t) => /permision/.test(t),
    60_000,
  );
  assert.match(problems, /presets\.json/);
});
