/**
 * AgentFense-specific person-like actions, built on the generic workbench helpers. The titles are
 * the ones a person sees (command palette "AgentFense: …", tree context menus, the Presets view).
 */
import type { Workbench } from './workbench';
import { waitFor } from './workbench';

/** Makes a preset active the way a person would: its "Use as Active Preset" action in the Presets view. */
export async function useAsActivePreset(vs: Workbench, preset: string): Promise<void> {
  await vs.openViewContainer('AgentFense');
  const row = await vs.treeItem('Presets', preset, 60_000);
  // The active preset's row says "● active" and offers no "Use as Active Preset".
  if (/active/.test(await row.innerText())) return;
  await vs.treeItemAction('Presets', preset, 'Use as Active Preset');
  await waitFor(
    `${preset} to be shown as active`,
    async () => (await vs.treeItem('Presets', preset)).innerText(),
    (t) => /active/.test(t),
  );
}

/** Command palette → "AgentFense: Run Command in Sandbox…" → types the command line. */
export async function runInSandbox(vs: Workbench, commandLine: string): Promise<void> {
  await vs.runCommand('AgentFense: Run Command in Sandbox…');
  await vs.answerInputBox(commandLine);
}

/** What the extension prints when a sandboxed process ends: `[exit N · 1.2 s]`. */
export function exitLine(code: number): RegExp {
  return new RegExp(`\\[exit ${code}\\b`);
}
