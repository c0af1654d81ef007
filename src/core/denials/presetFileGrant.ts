/**
 * A grant written into `.agentfense/presets.json`: into the active preset when it is one of
 * this file's, else as a new preset that extends the active one (a built-in or a setting
 * cannot be edited from a workspace). Pure text in, text out: the caller shows the difference
 * before it writes, and can put the old text back.
 */
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { NormalizedRule } from '../../shared/permissions';
import type { PresetNetwork } from '../../shared/networkPolicy';
import { parsePresetFile, WORKSPACE_PRESETS_FILE } from '../presets/presetCatalog';

export type GrantTarget =
  /** Append to this preset of the file. */
  | { kind: 'into'; preset: string }
  /** Add a preset `name` that extends `base` with the rule. */
  | { kind: 'derived'; name: string; base: string };

/** Where a grant for `active` goes, given the file's current text (a name no preset uses yet, for a new one). */
export function grantTarget(text: string, active: string, nameTaken: (name: string) => boolean): GrantTarget {
  const { presets } = parsePresetFile(text);
  if (Object.hasOwn(presets, active)) return { kind: 'into', preset: active };
  let name = `${active}-granted`;
  for (let i = 2; Object.hasOwn(presets, name) || nameTaken(name); i++) name = `${active}-granted-${i}`;
  return { kind: 'derived', name, base: active };
}

export class PresetFileError extends Error {}

/**
 * The file's text with one preset changed: the file's own (`change` gets it and its name, and
 * returns its new value), or a new one extending the base (`derived` gives its other keys).
 * Throws PresetFileError rather than lose what the file holds.
 */
function presetFileWith(
  text: string,
  target: GrantTarget,
  change: (preset: Record<string, unknown>, name: string) => Record<string, unknown>,
  derived: (base: string) => Record<string, unknown>,
): string {
  const { presets, error } = parsePresetFile(text);
  if (error) throw new PresetFileError(`${WORKSPACE_PRESETS_FILE} ${error}; fix it first`);
  const next: Record<string, unknown> = { ...presets };
  if (target.kind === 'into') {
    const preset = presets[target.preset];
    if (!preset || typeof preset !== 'object' || Array.isArray(preset))
      throw new PresetFileError(`preset "${target.preset}" in ${WORKSPACE_PRESETS_FILE} is not an object`);
    next[target.preset] = change(preset as Record<string, unknown>, target.preset);
  } else {
    next[target.name] = { extends: target.base, ...derived(target.base) };
  }
  return JSON.stringify(next, null, 2) + '\n';
}

/**
 * The file's text with `destination` added to what the preset's sandboxes may reach, given
 * the network it has now (`current`: a preset's `network` replaces that of `extends`, so the
 * new one carries the old list). Off becomes allow; on stays on.
 */
export function presetFileWithDestination(
  text: string,
  target: GrantTarget,
  current: PresetNetwork,
  destination: string,
): string {
  const network = {
    ...(current.mode === 'on' ? { mode: 'on' } : {}),
    allow: current.allow.includes(destination) ? [...current.allow] : [...current.allow, destination],
    ...(current.deny.length ? { deny: [...current.deny] } : {}),
  };
  return presetFileWith(
    text,
    target,
    (preset) => ({ ...preset, network }),
    (base) => ({ description: `${base}, with network access granted from AgentFense's Denials view`, network }),
  );
}

/** The file's text with the rule added; throws PresetFileError rather than lose what the file holds. */
export function presetFileWithGrant(text: string, target: GrantTarget, rule: NormalizedRule): string {
  const written = { pattern: rule.pattern, permission: rule.permission, type: rule.type, priority: rule.priority };
  return presetFileWith(
    text,
    target,
    (preset, name) => {
      const own = preset.rules ?? [];
      if (!Array.isArray(own)) throw new PresetFileError(`preset "${name}" has "rules" that is not an array`);
      return { ...preset, rules: [...(own as unknown[]), written] };
    },
    (base) => ({ description: `${base}, with access granted from AgentFense's Denials view`, rules: [written] }),
  );
}

/**
 * Writes the grant into `<folder>/.agentfense/presets.json` (write-then-rename: a reader never
 * sees half a file) and says where it went; for an agent's request the user allowed.
 */
export async function writeGrant(
  folder: string,
  active: string,
  rule: NormalizedRule,
  nameTaken: (name: string) => boolean,
): Promise<GrantTarget> {
  const file = join(folder, WORKSPACE_PRESETS_FILE);
  const before = await readFile(file, 'utf8').catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') return '';
    throw e;
  });
  const target = grantTarget(before, active, nameTaken);
  const after = presetFileWithGrant(before, target, rule);
  await mkdir(dirname(file), { recursive: true });
  const temp = `${file}.${process.pid}.tmp`;
  await rm(temp, { force: true });
  await writeFile(temp, after, { flag: 'wx' }); // never through a link left there

  await rename(temp, file);
  return target;
}
