/**
 * The rules a new sandbox gets: a preset's rules followed by the caller's (as the SDK
 * builds them), validated so a bad rule or preset name fails before anything is sent.
 */
import { InvalidRuleError, normalizeRules, type NormalizedRule, type PermissionRule } from '../shared/permissions';
import { getPreset } from '../shared/presets';
import { InvalidConfigurationError } from './errors';

export function sandboxRules(
  preset: string | null | undefined,
  permissions: readonly (PermissionRule | NormalizedRule)[] = [],
): NormalizedRule[] {
  try {
    return [...(preset ? getPreset(preset) : []), ...normalizeRules(permissions)];
  } catch (err) {
    // InvalidRuleError names the rule; getPreset's error lists the known presets.
    const message = err instanceof InvalidRuleError || err instanceof Error ? err.message : String(err);
    throw new InvalidConfigurationError(message, { cause: err });
  }
}
