/**
 * What the Explorer's permission preview says about one workspace path: not uploaded (and why),
 * hidden by a rule of the active preset, or the level that preset gives it. The upload comes
 * first because a file that never reaches the codebase is absent whatever the rules say: the
 * preview must show what the sandbox really holds. Pure and vscode-free, so what the preview
 * claims is decided, and tested, here; the decoration provider only gathers the inputs.
 */
import type { IgnoreOrigin } from '../../core/sync/ignoreRules';
import type { UploadExclusion } from '../../core/sync/uploadExclusions';
import type { NormalizedRule, PermissionEngine, PermissionLevel } from '../../shared/permissions';

export type VisibleLevel = Exclude<PermissionLevel, 'none'>;

export type PathPreview =
  /** `exclusion.path` is `path` itself or a folder above it. */
  | { kind: 'notUploaded'; path: string; exclusion: UploadExclusion }
  /** `rule` is undefined when no rule matches: the engine hides what nothing allows. */
  | { kind: 'hidden'; rule: NormalizedRule | undefined }
  | { kind: 'visible'; level: VisibleLevel; rule: NormalizedRule | undefined };

/** `exclusion` as UploadExclusions.exclusionOf answers for `relPath`. */
export function previewPath(
  relPath: string,
  exclusion: UploadExclusion | undefined,
  engine: PermissionEngine,
): PathPreview {
  if (exclusion) return { kind: 'notUploaded', path: relPath, exclusion };
  const rule = engine.matchingRule(relPath);
  const level = rule?.permission ?? 'none';
  return level === 'none' ? { kind: 'hidden', rule } : { kind: 'visible', level, rule };
}

/** What the Explorer shows: a badge of at most two characters, a hover, and whether to fade the name. */
export interface PreviewDecoration {
  badge: string;
  tooltip: string;
  faded: boolean;
}

export const PREVIEW_BADGES = { notUploaded: '—', none: '⊘', view: 'V', read: 'R', write: 'W' } as const;

const LEVEL_TEXT: Record<VisibleLevel, string> = {
  view: 'listed in the sandbox, content unreadable',
  read: 'read-only in the sandbox',
  write: 'readable and writable in the sandbox',
};

export function describePreview(preview: PathPreview, presetName: string): PreviewDecoration {
  switch (preview.kind) {
    case 'notUploaded':
      // Not the preset's doing: any preset would show the same, so the hover does not name it.
      return {
        badge: PREVIEW_BADGES.notUploaded,
        tooltip: `AgentFense: not uploaded: ${exclusionText(preview.exclusion, preview.path)}`,
        faded: true,
      };
    case 'hidden':
      return {
        badge: PREVIEW_BADGES.none,
        tooltip: `AgentFense (${presetName}): ${preview.rule ? `hidden by rule ${ruleText(preview.rule)}` : 'hidden: no rule of the preset matches it'}`,
        faded: true,
      };
    case 'visible':
      return {
        badge: PREVIEW_BADGES[preview.level],
        tooltip: `AgentFense (${presetName}): ${LEVEL_TEXT[preview.level]}${preview.rule ? ` (rule ${ruleText(preview.rule)})` : ''}`,
        faded: false,
      };
  }
}

function ruleText(rule: NormalizedRule): string {
  return `${JSON.stringify(rule.pattern)}${rule.type === 'glob' ? '' : ` (${rule.type})`}, priority ${rule.priority}`;
}

function originText(origin: IgnoreOrigin): string {
  switch (origin.kind) {
    case 'default':
      return "AgentFense's default upload exclusion";
    case 'file':
      return `${origin.path} rule`;
    case 'option':
      return 'agentfense.ignore rule';
  }
}

/** Why `path` is not uploaded; a reason that lies with a folder above it names the folder, so the user knows where to look. */
export function exclusionText(exclusion: UploadExclusion, path: string): string {
  const folder = exclusion.path === '' ? 'the workspace folder' : `folder ${exclusion.path}/`;
  const onFolder = exclusion.path !== path;
  switch (exclusion.kind) {
    case 'ignored': {
      const by = `excluded by ${originText(exclusion.match.origin)} ${JSON.stringify(exclusion.match.pattern)}`;
      return onFolder ? `${by} on ${folder}` : by;
    }
    case 'symlink':
      return onFolder
        ? `excluded because ${folder} is a symbolic link; uploads do not follow links`
        : 'excluded as a symbolic link; uploads do not follow links';
    case 'special':
      return 'excluded as a special file (socket, pipe or device)';
    case 'invalidName':
      return `excluded: ${exclusion.reason}`;
    case 'unreadable':
      return `excluded because ${folder} cannot be read`;
  }
}
