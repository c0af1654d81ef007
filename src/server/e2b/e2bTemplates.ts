/**
 * What an E2B template id means on this server: which rules and runtime the sandbox gets.
 *   base                 every file writable (full-access), bubblewrap: E2B's own default is a whole VM
 *   <preset>             a built-in preset (agent-safe, read-only, development, full-access, view-only)
 *   docker:<image>       full-access in a Docker container of that image
 * Anything else is not found. The network follows the request (`allow_internet_access`,
 * `network.allowOut`/`denyOut`), never the preset's: an E2B caller states its own.
 */
import { BUILTIN_PRESET_NAMES, getPreset, isBuiltinPreset } from '../../shared/presets';
import type { NormalizedRule } from '../../shared/permissions';
import { BWRAP, type SandboxRuntime } from '../../shared/sandboxRuntime';

export interface E2bTemplate {
  rules: readonly NormalizedRule[];
  runtime: SandboxRuntime;
}

export const DEFAULT_TEMPLATE = 'base';

export function templateFor(templateId: string): E2bTemplate | undefined {
  const id = templateId || DEFAULT_TEMPLATE;
  if (id === DEFAULT_TEMPLATE) return { rules: getPreset('full-access'), runtime: BWRAP };
  if (isBuiltinPreset(id)) return { rules: getPreset(id), runtime: BWRAP };
  const docker = /^docker:([\x21-\x7e]{1,512})$/.exec(id);
  if (docker) return { rules: getPreset('full-access'), runtime: { kind: 'docker', image: docker[1]! } };
  return undefined;
}

export function unknownTemplate(templateId: string): string {
  return (
    `template '${templateId}' not found: this server offers "${DEFAULT_TEMPLATE}", the presets ` +
    `${BUILTIN_PRESET_NAMES.join(', ')}, and "docker:<image>"`
  );
}
