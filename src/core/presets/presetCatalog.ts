/**
 * The presets a user can pick: the five built-ins, then the ones from the `agentfense.presets`
 * setting, then `.agentfense/presets.json` (same shape). vscode-free so it can be unit-tested;
 * the views and the sandbox creation both read this one catalog so they never disagree.
 */
import { InvalidRuleError, normalizeRules, sortRules, type NormalizedRule } from '../../shared/permissions';
import {
  BUILTIN_PRESET_NAMES,
  getPreset,
  isBuiltinPreset,
  presetDescription,
  presetNetwork,
} from '../../shared/presets';
import { BWRAP, parseRuntime, RuntimeSpecError, type SandboxRuntime } from '../../shared/sandboxRuntime';
import { NETWORK_OFF, NetworkPolicyError, parsePresetNetwork, type PresetNetwork } from '../../shared/networkPolicy';
import { unknownProperty } from '../../shared/unknownProperty';

/** Where a folder keeps its presets, relative to the folder (travels with the project). */
export const WORKSPACE_PRESETS_FILE = '.agentfense/presets.json';

/** The keys a preset may have (schemas/presets.schema.json says the same, for the editor). */
export const PRESET_KEYS = ['extends', 'description', 'rules', 'network', 'runtime', 'image'] as const;

export type PresetSource = 'builtin' | 'settings' | 'workspace';

export interface PresetEntry {
  name: string;
  source: PresetSource;
  description: string;
  extends?: string;
  /** Rules in evaluation order; absent when the preset is invalid. */
  rules?: NormalizedRule[];
  /** What its sandboxes may reach (its own `network`, else that of `extends`, else off). */
  network: PresetNetwork;
  /** What runs its sandboxes (its own `runtime`/`image`, else that of `extends`, else bubblewrap). */
  runtime: SandboxRuntime;
  /** Why the preset cannot be used (names the offending rule). */
  error?: string;
  /** The preset's own rules as written (before `extends`), to locate them in their source. */
  ownRules: unknown[];
}

/** The JSON shape: `{ "name": { "extends"?: "agent-safe", "description"?: "...", "rules": [...] } }`. */
export type UserPresetMap = Record<string, unknown>;

export class PresetCatalog {
  private readonly byName = new Map<string, PresetEntry>();

  constructor(readonly entries: readonly PresetEntry[]) {
    for (const e of entries) this.byName.set(e.name, e);
  }

  get(name: string): PresetEntry | undefined {
    return this.byName.get(name);
  }

  /** The rules of a usable preset, or an Error a user can act on. */
  rulesOf(name: string): NormalizedRule[] {
    const entry = this.byName.get(name);
    if (!entry) {
      throw new Error(
        `Unknown AgentFense preset "${name}". Known presets: ${this.entries.map((e) => e.name).join(', ')}.`,
      );
    }
    if (!entry.rules) throw new Error(`AgentFense preset "${name}" is invalid: ${entry.error}`);
    return entry.rules;
  }

  /** What a usable preset's sandboxes may reach (same errors as rulesOf). */
  networkOf(name: string): PresetNetwork {
    this.rulesOf(name);
    return this.byName.get(name)!.network;
  }

  /** What runs a usable preset's sandboxes (same errors as rulesOf). */
  runtimeOf(name: string): SandboxRuntime {
    this.rulesOf(name);
    return this.byName.get(name)!.runtime;
  }
}

/** Parses `.agentfense/presets.json`; a syntax error becomes a single error entry, not a crash. */
export function parsePresetFile(text: string): { presets: UserPresetMap; error?: string } {
  if (text.trim() === '') return { presets: {} };
  try {
    const parsed: unknown = JSON.parse(text);
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) {
      return { presets: {}, error: 'must be a JSON object mapping preset names to { "extends"?, "rules": [...] }' };
    }
    return { presets: parsed as UserPresetMap };
  } catch (e) {
    return { presets: {}, error: `not valid JSON: ${(e as Error).message}` };
  }
}

export function buildPresetCatalog(
  settings: UserPresetMap | undefined,
  workspace: UserPresetMap | undefined,
): PresetCatalog {
  const entries: PresetEntry[] = BUILTIN_PRESET_NAMES.map((name) => ({
    name,
    source: 'builtin',
    description: presetDescription(name),
    rules: sortRules(getPreset(name)),
    network: presetNetwork(name),
    runtime: BWRAP,
    ownRules: getPreset(name),
  }));
  const raw = new Map<string, { source: PresetSource; def: unknown }>();
  // Workspace presets win over user settings of the same name: they travel with the project.
  for (const [name, def] of Object.entries(settings ?? {})) raw.set(name, { source: 'settings', def });
  for (const [name, def] of Object.entries(workspace ?? {})) raw.set(name, { source: 'workspace', def });

  const resolved = new Map<string, PresetEntry>();
  const resolving = new Set<string>();
  const resolve = (name: string): PresetEntry => {
    const done = resolved.get(name);
    if (done) return done;
    const { source, def } = raw.get(name)!;
    const entry = resolveOne(name, source, def, (base) => {
      if (isBuiltinPreset(base)) return { rules: getPreset(base), network: presetNetwork(base), runtime: BWRAP };
      if (!raw.has(base)) return { error: `extends unknown preset "${base}"` };
      if (resolving.has(base)) return { error: `extends "${base}", which extends it back (a cycle)` };
      resolving.add(name);
      const b = resolve(base);
      resolving.delete(name);
      return b.rules
        ? { rules: b.rules, network: b.network, runtime: b.runtime }
        : { error: `extends "${base}", which is invalid` };
    });
    resolved.set(name, entry);
    return entry;
  };
  for (const name of raw.keys()) {
    if (isBuiltinPreset(name)) {
      entries.push({
        name,
        source: raw.get(name)!.source,
        description: '',
        error: `"${name}" is a built-in preset name; give your preset another name (it can use "extends": "${name}")`,
        network: NETWORK_OFF,
        runtime: BWRAP,
        ownRules: [],
      });
      continue;
    }
    resolving.add(name);
    entries.push(resolve(name));
    resolving.delete(name);
  }
  return new PresetCatalog(entries);
}

function resolveOne(
  name: string,
  source: PresetSource,
  def: unknown,
  baseRules: (base: string) => {
    rules?: NormalizedRule[];
    network?: PresetNetwork;
    runtime?: SandboxRuntime;
    error?: string;
  },
): PresetEntry {
  const fail = (error: string, ownRules: unknown[] = []): PresetEntry => ({
    name,
    source,
    description: '',
    error,
    network: NETWORK_OFF,
    runtime: BWRAP,
    ownRules,
  });
  if (!def || typeof def !== 'object' || Array.isArray(def))
    return fail('must be an object { "extends"?, "rules": [...] }');
  const d = def as Record<string, unknown>;
  // First: a misspelled "rules" would otherwise read as "has no rules".
  const unknown = unknownProperty(d, PRESET_KEYS);
  if (unknown) return fail(unknown);
  const ownRules = d.rules ?? [];
  if (!Array.isArray(ownRules)) return fail('"rules" must be an array of rules');
  if (d.description !== undefined && typeof d.description !== 'string')
    return fail('"description" must be a string', ownRules);
  const description = d.description ?? '';
  let own: NormalizedRule[];
  try {
    own = normalizeRules(ownRules);
  } catch (e) {
    return fail(e instanceof InvalidRuleError ? e.message : String(e), ownRules);
  }
  let network: PresetNetwork | undefined;
  if (d.network !== undefined) {
    try {
      network = parsePresetNetwork(d.network);
    } catch (e) {
      return fail(e instanceof NetworkPolicyError ? e.message : String(e), ownRules);
    }
  }
  let runtime: SandboxRuntime | undefined;
  try {
    runtime = parseRuntime(d.runtime, d.image);
  } catch (e) {
    return fail(e instanceof RuntimeSpecError ? e.message : String(e), ownRules);
  }
  let rules = own;
  let ext: string | undefined;
  if (d.extends !== undefined) {
    if (typeof d.extends !== 'string') return fail('"extends" must be a preset name', ownRules);
    ext = d.extends;
    const base = baseRules(ext);
    if (!base.rules) return { ...fail(base.error!, ownRules), extends: ext };
    // As the SDK's extend_preset additions: appended, ordering decides by priority.
    rules = [...base.rules, ...own];
    network ??= base.network;
    runtime ??= base.runtime;
  }
  if (rules.length === 0) return fail('has no rules (every file would be hidden); add rules or "extends"', ownRules);
  return {
    name,
    source,
    description:
      description ||
      (ext
        ? `${ext} + ${own.length} rule${own.length === 1 ? '' : 's'}`
        : `${own.length} rule${own.length === 1 ? '' : 's'}`),
    extends: ext,
    rules: sortRules(rules),
    network: network ?? NETWORK_OFF,
    runtime: runtime ?? BWRAP,
    ownRules,
  };
}
