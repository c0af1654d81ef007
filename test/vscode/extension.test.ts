/**
 * In-editor tests (mocha TDD UI, run inside VS Code/code-server by the e2e runner). They need
 * no server: they check what the extension contributes and shows before first use.
 */
import assert from 'node:assert/strict';
import * as vscode from 'vscode';
import type { AgentFenseApi } from '../../src/extension/main';
import type { PresetNode } from '../../src/extension/presets/presetsView';
import { BUILTIN_PRESET_NAMES } from '../../src/shared/presets';

// Mocha's TDD globals, declared here so the repository needs no @types/mocha.
declare const suite: (name: string, fn: () => void) => void;
declare const test: (name: string, fn: () => unknown) => void;
declare const suiteSetup: (fn: () => unknown) => void;

const EXTENSION_ID = 'agentfense.agentfense-vscode';

suite('AgentFense extension', () => {
  let api: AgentFenseApi;

  suiteSetup(async () => {
    const ext = vscode.extensions.getExtension<AgentFenseApi>(EXTENSION_ID);
    assert.ok(ext, `extension ${EXTENSION_ID} is installed`);
    api = await ext.activate();
  });

  test('registers every contributed command', async () => {
    const registered = new Set(await vscode.commands.getCommands(true));
    const contributed = (vscode.extensions.getExtension(EXTENSION_ID)!.packageJSON.contributes.commands as { command: string }[]).map(
      (c) => c.command,
    );
    const missing = contributed.filter((c) => !registered.has(c));
    assert.deepEqual(missing, []);
  });

  test('the Presets view lists the five built-ins, the active one first-class', async () => {
    const roots = (await api.views.presets.getChildren()) as PresetNode[];
    const names = roots.filter((n) => n.kind === 'preset').map((n) => (n as Extract<PresetNode, { kind: 'preset' }>).entry.name);
    for (const b of BUILTIN_PRESET_NAMES) assert.ok(names.includes(b), `${b} listed`);
    const active = roots.find((n) => n.kind === 'preset' && n.entry.name === api.ctx.presets.activeName)!;
    assert.match(String(api.views.presets.getTreeItem(active).description), /active/);
  });

  test('agent-safe expands to its rules in evaluation order with level icons', async () => {
    const roots = (await api.views.presets.getChildren()) as PresetNode[];
    const safe = roots.find((n) => n.kind === 'preset' && n.entry.name === 'agent-safe')!;
    const rules = (await api.views.presets.getChildren(safe)) as Extract<PresetNode, { kind: 'rule' }>[];
    assert.equal(rules.length, 9);
    assert.equal(rules[0].rule.priority, 100);
    const last = api.views.presets.getTreeItem(rules[rules.length - 1]);
    assert.equal(last.label, '**/*');
    assert.equal((last.iconPath as vscode.ThemeIcon).id, 'book');
  });

  test('the status bar preset and the setting agree', () => {
    assert.equal(api.ctx.presets.activeName, vscode.workspace.getConfiguration('agentfense').get('activePreset') || 'agent-safe');
  });

  test('an agentfense task resolves to a custom execution', async () => {
    const folder = vscode.workspace.workspaceFolders?.[0];
    if (!folder) return; // runner opened no folder
    const task = new vscode.Task({ type: 'agentfense', command: 'echo hi' }, folder, 'echo', 'agentfense');
    const tasks = await vscode.tasks.fetchTasks({ type: 'agentfense' });
    assert.ok(Array.isArray(tasks));
    assert.ok(task.definition.command === 'echo hi');
  });
});
