/**
 * The five built-in permission presets (the AgentFense SDK's names and rules, with secrets
 * hidden in all but full-access), and how to build on them.
 */
import { normalizeRules, type NormalizedRule, type PermissionRule } from './permissions';
import { NETWORK_OFF, type PresetNetwork } from './networkPolicy';

/** What development may reach: the package registries and source hosts builds fetch from. */
const REGISTRIES: PresetNetwork = {
  mode: 'allow',
  allow: ['@npm', '@pypi', '@github', '@crates', '@go', '@maven'],
  deny: [],
};

export const BUILTIN_PRESET_NAMES = ['agent-safe', 'read-only', 'development', 'full-access', 'view-only'] as const;
export type BuiltinPresetName = (typeof BUILTIN_PRESET_NAMES)[number];

/**
 * Secrets every built-in preset hides except full-access (README's promise: "secrets are not
 * there"). The SDK's read-only and view-only hide nothing and its development leaves
 * credentials files readable; a preset a user picks without reading its rules must not hand
 * an agent the keys, so ours differ from the SDK there. Priority 100 beats any `write` rule of
 * the presets (and `extends` additions below 100), so secrets stay hidden inside /output too.
 */
export const SECRETS_HIDDEN: readonly PermissionRule[] = [
  { pattern: '**/.env*', permission: 'none', priority: 100 },
  { pattern: '**/secrets/**', permission: 'none', priority: 100 },
  { pattern: '**/*.key', permission: 'none', priority: 100 },
  { pattern: '**/*.pem', permission: 'none', priority: 100 },
  { pattern: '**/credentials*', permission: 'none', priority: 100 },
];

const PRESETS: Record<
  BuiltinPresetName,
  { description: string; rules: readonly PermissionRule[]; network: PresetNetwork }
> = {
  'agent-safe': {
    description: 'Read everything except secrets and .git; write only /output and /tmp; no network.',
    network: NETWORK_OFF,
    rules: [
      { pattern: '**/*', permission: 'read', priority: 0 },
      { pattern: '/output/**', permission: 'write', priority: 10 },
      { pattern: '/tmp/**', permission: 'write', priority: 10 },
      ...SECRETS_HIDDEN,
      { pattern: '**/.git/**', permission: 'none', priority: 50 },
    ],
  },
  'read-only': {
    description: 'Read every file except secrets, which are hidden; write nothing; no network.',
    network: NETWORK_OFF,
    rules: [{ pattern: '**/*', permission: 'read', priority: 0 }, ...SECRETS_HIDDEN],
  },
  development: {
    description: 'Write everything except secrets, which are hidden; reach the package registries.',
    network: REGISTRIES,
    rules: [{ pattern: '**/*', permission: 'write', priority: 0 }, ...SECRETS_HIDDEN],
  },
  'full-access': {
    description:
      '⚠ EXPOSES SECRETS: reads and writes every file, .env files, keys and credentials included; reaches the internet.',
    network: { mode: 'on', allow: [], deny: [] },
    rules: [{ pattern: '**/*', permission: 'write', priority: 0 }],
  },
  'view-only': {
    description: 'List every file except secrets, which are hidden; read none; no network.',
    network: NETWORK_OFF,
    rules: [{ pattern: '**/*', permission: 'view', priority: 0 }, ...SECRETS_HIDDEN],
  },
};

export function isBuiltinPreset(name: string): name is BuiltinPresetName {
  return (BUILTIN_PRESET_NAMES as readonly string[]).includes(name);
}

export function presetDescription(name: BuiltinPresetName): string {
  return PRESETS[name].description;
}

export function presetNetwork(name: BuiltinPresetName): PresetNetwork {
  return PRESETS[name].network;
}

/** The rules of a built-in preset (a fresh copy), or an error listing the known names. */
export function getPreset(name: string): NormalizedRule[] {
  if (!isBuiltinPreset(name)) {
    throw new Error(`unknown preset ${JSON.stringify(name)} (known: ${BUILTIN_PRESET_NAMES.join(', ')})`);
  }
  return normalizeRules(PRESETS[name].rules);
}

export interface PresetExtension {
  /** Appended as given. */
  additions?: readonly PermissionRule[];
  /** Raised above the highest priority of the base, so they always win. */
  overrides?: readonly PermissionRule[];
}

/** As the SDK's `extend_preset(base, additions, overrides)`. */
export function extendPreset(base: string | readonly PermissionRule[], ext: PresetExtension = {}): NormalizedRule[] {
  const baseRules = typeof base === 'string' ? getPreset(base) : normalizeRules(base);
  const additions = normalizeRules(ext.additions ?? []);
  const overrides = normalizeRules(ext.overrides ?? []);
  const top = Math.max(0, ...baseRules.map((r) => r.priority), ...additions.map((r) => r.priority));
  return [...baseRules, ...additions, ...overrides.map((r) => ({ ...r, priority: top + 1 + r.priority }))];
}
