/**
 * The one place where generated protobuf messages become the client's plain types and
 * back. Unknown enum values decode the way the Python SDK decodes them (permission →
 * none, pattern type → glob, status → pending, runtime → bwrap).
 */
import * as pb from '../generated/common';
import type * as pbCodebase from '../generated/codebase';
import * as pbSandbox from '../generated/sandbox';
import type { Duration } from '../generated/google/protobuf/duration';
import {
  normalizeRules,
  type NormalizedRule,
  type PatternType,
  type PermissionLevel,
  type PermissionRule,
} from '../shared/permissions';
import type {
  CodebaseInfo,
  ExecOutputChunk,
  ExecResult,
  FileInfo,
  ResourceLimits,
  RuntimeType,
  SandboxInfo,
  SandboxStatus,
  SessionInfo,
  SessionStatus,
  UploadResult,
} from './types';

const PERMISSION_TO_PROTO: Record<PermissionLevel, pb.Permission> = {
  none: pb.Permission.PERMISSION_NONE,
  view: pb.Permission.PERMISSION_VIEW,
  read: pb.Permission.PERMISSION_READ,
  write: pb.Permission.PERMISSION_WRITE,
};

const PATTERN_TYPE_TO_PROTO: Record<PatternType, pb.PatternType> = {
  glob: pb.PatternType.PATTERN_TYPE_GLOB,
  directory: pb.PatternType.PATTERN_TYPE_DIRECTORY,
  file: pb.PatternType.PATTERN_TYPE_FILE,
};

const RUNTIME_TO_PROTO: Record<RuntimeType, pbSandbox.RuntimeType> = {
  bwrap: pbSandbox.RuntimeType.RUNTIME_TYPE_BWRAP,
  docker: pbSandbox.RuntimeType.RUNTIME_TYPE_DOCKER,
};

function invert<K extends string, V extends number>(table: Record<K, V>): Map<number, K> {
  return new Map(Object.entries(table).map(([k, v]) => [v as number, k as K]));
}

const PERMISSION_FROM_PROTO = invert(PERMISSION_TO_PROTO);
const PATTERN_TYPE_FROM_PROTO = invert(PATTERN_TYPE_TO_PROTO);
const RUNTIME_FROM_PROTO = invert(RUNTIME_TO_PROTO);

const SANDBOX_STATUS_FROM_PROTO = new Map<number, SandboxStatus>([
  [pb.SandboxStatus.SANDBOX_STATUS_PENDING, 'pending'],
  [pb.SandboxStatus.SANDBOX_STATUS_RUNNING, 'running'],
  [pb.SandboxStatus.SANDBOX_STATUS_STOPPED, 'stopped'],
  [pb.SandboxStatus.SANDBOX_STATUS_ERROR, 'error'],
]);

const SESSION_STATUS_FROM_PROTO = new Map<number, SessionStatus>([
  [pb.SessionStatus.SESSION_STATUS_ACTIVE, 'active'],
  [pb.SessionStatus.SESSION_STATUS_CLOSED, 'closed'],
]);

/** Validates (throws InvalidRuleError naming the rule) and encodes rules. */
export function rulesToProto(rules: readonly (PermissionRule | NormalizedRule)[]): pb.PermissionRule[] {
  return normalizeRules(rules).map((r) => ({
    pattern: r.pattern,
    type: PATTERN_TYPE_TO_PROTO[r.type],
    permission: PERMISSION_TO_PROTO[r.permission],
    priority: r.priority,
  }));
}

export function ruleFromProto(rule: pb.PermissionRule): NormalizedRule {
  return {
    pattern: rule.pattern,
    type: PATTERN_TYPE_FROM_PROTO.get(rule.type) ?? 'glob',
    permission: PERMISSION_FROM_PROTO.get(rule.permission) ?? 'none',
    priority: rule.priority,
  };
}

export function runtimeToProto(runtime: RuntimeType | undefined): pbSandbox.RuntimeType {
  return runtime === undefined ? pbSandbox.RuntimeType.RUNTIME_TYPE_UNSPECIFIED : RUNTIME_TO_PROTO[runtime];
}

/** Milliseconds → Duration (sub-millisecond precision is kept in nanos). */
export function msToDuration(ms: number): Duration {
  const seconds = Math.floor(ms / 1000);
  return { seconds, nanos: Math.round((ms - seconds * 1000) * 1e6) };
}

export function durationToMs(d: Duration | undefined): number {
  return d ? d.seconds * 1000 + d.nanos / 1e6 : 0;
}

/** The epoch means "not set" in proto3 timestamps written by some servers. */
function date(d: Date | undefined): Date | undefined {
  return d && d.getTime() !== 0 ? d : undefined;
}

export function resourcesToProto(r: ResourceLimits | undefined): pbSandbox.ResourceLimits | undefined {
  if (!r) return undefined;
  return {
    memoryBytes: r.memoryBytes ?? 0,
    cpuQuota: r.cpuQuota ?? 0,
    cpuShares: r.cpuShares ?? 0,
    pidsLimit: r.pidsLimit ?? 0,
  };
}

function resourcesFromProto(r: pbSandbox.ResourceLimits | undefined): ResourceLimits | undefined {
  if (!r || (!r.memoryBytes && !r.cpuQuota && !r.cpuShares && !r.pidsLimit)) return undefined;
  const out: ResourceLimits = {};
  if (r.memoryBytes) out.memoryBytes = r.memoryBytes;
  if (r.cpuQuota) out.cpuQuota = r.cpuQuota;
  if (r.cpuShares) out.cpuShares = r.cpuShares;
  if (r.pidsLimit) out.pidsLimit = r.pidsLimit;
  return out;
}

export function sandboxFromProto(s: pbSandbox.Sandbox): SandboxInfo {
  return {
    id: s.id,
    codebaseId: s.codebaseId,
    permissions: s.permissions.map(ruleFromProto),
    status: SANDBOX_STATUS_FROM_PROTO.get(s.status) ?? 'pending',
    labels: { ...s.labels },
    runtime: RUNTIME_FROM_PROTO.get(s.runtime) ?? 'bwrap',
    image: s.image || undefined,
    resources: resourcesFromProto(s.resources),
    createdAt: date(s.createdAt),
    startedAt: date(s.startedAt),
    stoppedAt: date(s.stoppedAt),
    expiresAt: date(s.expiresAt),
  };
}

export function codebaseFromProto(c: pbCodebase.Codebase): CodebaseInfo {
  return {
    id: c.id,
    name: c.name,
    ownerId: c.ownerId,
    size: c.size,
    fileCount: c.fileCount,
    createdAt: date(c.createdAt),
    updatedAt: date(c.updatedAt),
  };
}

export function fileInfoFromProto(f: pbCodebase.FileInfo): FileInfo {
  return { path: f.path, name: f.name, isDir: f.isDir, size: f.size, modifiedAt: date(f.modifiedAt) };
}

export function uploadResultFromProto(r: pbCodebase.UploadResult): UploadResult {
  return { codebaseId: r.codebaseId, filePath: r.filePath, size: r.size, checksum: r.checksum };
}

export function sessionFromProto(s: pbSandbox.Session): SessionInfo {
  return {
    id: s.id,
    sandboxId: s.sandboxId,
    status: SESSION_STATUS_FROM_PROTO.get(s.status) ?? 'unknown',
    shell: s.shell,
    createdAt: date(s.createdAt),
    closedAt: date(s.closedAt),
  };
}

export function execResultFromProto(r: pbSandbox.ExecResult): ExecResult {
  return { stdout: r.stdout, stderr: r.stderr, exitCode: r.exitCode, durationMs: durationToMs(r.duration) };
}

/** Unspecified output types count as stdout, so no byte is dropped. */
export function execOutputFromProto(o: pbSandbox.ExecOutput): ExecOutputChunk {
  return {
    stream: o.type === pbSandbox.ExecOutput_OutputType.OUTPUT_TYPE_STDERR ? 'stderr' : 'stdout',
    data: Buffer.isBuffer(o.data) ? o.data : Buffer.from(o.data),
  };
}
