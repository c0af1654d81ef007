/** Permission rules between the wire (protobuf enums) and the shared engine (strings). */
import { Permission, PatternType, type PermissionRule as WireRule } from '../../generated/common';
import { normalizeRules, InvalidRuleError, type NormalizedRule, type PermissionLevel } from '../../shared/permissions';
import { invalidArgument } from '../rpc/rpcError';

const LEVEL_OF: Record<number, PermissionLevel> = {
  [Permission.PERMISSION_NONE]: 'none',
  [Permission.PERMISSION_VIEW]: 'view',
  [Permission.PERMISSION_READ]: 'read',
  [Permission.PERMISSION_WRITE]: 'write',
};
const WIRE_LEVEL: Record<PermissionLevel, Permission> = {
  none: Permission.PERMISSION_NONE,
  view: Permission.PERMISSION_VIEW,
  read: Permission.PERMISSION_READ,
  write: Permission.PERMISSION_WRITE,
};
const TYPE_OF: Record<number, NormalizedRule['type']> = {
  [PatternType.PATTERN_TYPE_UNSPECIFIED]: 'glob',
  [PatternType.PATTERN_TYPE_GLOB]: 'glob',
  [PatternType.PATTERN_TYPE_DIRECTORY]: 'directory',
  [PatternType.PATTERN_TYPE_FILE]: 'file',
};
const WIRE_TYPE: Record<NormalizedRule['type'], PatternType> = {
  glob: PatternType.PATTERN_TYPE_GLOB,
  directory: PatternType.PATTERN_TYPE_DIRECTORY,
  file: PatternType.PATTERN_TYPE_FILE,
};

/** Validates wire rules; a bad one is INVALID_ARGUMENT naming the rule. */
export function rulesFromWire(rules: readonly WireRule[]): NormalizedRule[] {
  const converted = rules.map((r, i) => {
    const permission = LEVEL_OF[r.permission];
    if (!permission) {
      throw invalidArgument(
        `permission rule #${i + 1} (${JSON.stringify(r.pattern)}): permission must be NONE, VIEW, READ or WRITE`,
      );
    }
    const type = TYPE_OF[r.type];
    if (!type)
      throw invalidArgument(`permission rule #${i + 1} (${JSON.stringify(r.pattern)}): unknown pattern type ${r.type}`);
    return { pattern: r.pattern, permission, type, priority: r.priority };
  });
  try {
    return normalizeRules(converted);
  } catch (err) {
    if (err instanceof InvalidRuleError) throw invalidArgument(err.message);
    throw err;
  }
}

export function rulesToWire(rules: readonly NormalizedRule[]): WireRule[] {
  return rules.map((r) => ({
    pattern: r.pattern,
    type: WIRE_TYPE[r.type],
    permission: WIRE_LEVEL[r.permission],
    priority: r.priority,
  }));
}
