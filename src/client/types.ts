/**
 * The client's public data types: plain TypeScript, milliseconds for durations, `Date` for
 * instants, string unions for enums. `convert.ts` is the only place that maps them to and
 * from the generated protobuf messages.
 */
import type { RefusedConnectionWire } from '../shared/connectionRefusals';
import type { WireDenials } from '../shared/denialWire';
import type { NormalizedRule } from '../shared/permissions';

export type { SandboxStatus } from '../core/backend';
import type { SandboxStatus } from '../core/backend';
export type RuntimeType = 'bwrap' | 'docker';
export type SessionStatus = 'active' | 'closed' | 'unknown';

export interface ResourceLimits {
  memoryBytes?: number;
  /** Microseconds of CPU per 100 ms period (100000 = one CPU). */
  cpuQuota?: number;
  cpuShares?: number;
  pidsLimit?: number;
}

export interface CodebaseInfo {
  id: string;
  name: string;
  ownerId: string;
  /** Total bytes of all files. */
  size: number;
  fileCount: number;
  createdAt?: Date;
  updatedAt?: Date;
}

export interface FileInfo {
  /** Codebase path, relative to the root (`src/a.py`). */
  path: string;
  name: string;
  isDir: boolean;
  size: number;
  modifiedAt?: Date;
}

export interface UploadResult {
  codebaseId: string;
  filePath: string;
  size: number;
  /** Hex sha256 of the content, as computed by the server. */
  checksum: string;
}

export interface SandboxInfo {
  id: string;
  codebaseId: string;
  /** The rules as the server stored them. */
  permissions: NormalizedRule[];
  status: SandboxStatus;
  labels: Record<string, string>;
  runtime: RuntimeType;
  /** Docker image; undefined for bwrap. */
  image?: string;
  resources?: ResourceLimits;
  createdAt?: Date;
  startedAt?: Date;
  stoppedAt?: Date;
  expiresAt?: Date;
}

export interface SessionInfo {
  id: string;
  sandboxId: string;
  status: SessionStatus;
  shell: string;
  createdAt?: Date;
  closedAt?: Date;
}

export interface ExecResult {
  stdout: string;
  stderr: string;
  exitCode: number;
  durationMs: number;
  /**
   * Codebase paths the merge after the command wrote or deleted, when the server says
   * (the embedded one does, as a trailer); 0: the codebase is as it was.
   */
  pathsMerged?: number;
  /** The accesses the sandbox's rules refused, when the command was audited (`audit: true`). */
  denials?: WireDenials;
  /** The connections the sandbox's network policy refused while it ran (the embedded server says). */
  refusedConnections?: RefusedConnectionWire[];
}

/** One piece of a streamed command's output. */
export interface ExecOutputChunk {
  stream: 'stdout' | 'stderr';
  data: Buffer;
}

export interface Page {
  pageSize?: number;
  pageToken?: string;
}
