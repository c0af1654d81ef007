/** What the server remembers about a sandbox across restarts: `<data>/sandboxes/<id>/sandbox.json`. */
import * as fs from 'node:fs';
import { join } from 'node:path';
import { SandboxStatus } from '../../generated/common';
import { RuntimeType, type Sandbox } from '../../generated/sandbox';
import type { NormalizedRule } from '../../shared/permissions';
import { rulesToWire } from './wireRules';
import type { ResourceLimitValues } from './runtime/cgroupLimits';
import type { PageCursor } from '../rpc/paging';
import { BWRAP, type SandboxRuntime } from '../../shared/sandboxRuntime';

export type SandboxState = 'pending' | 'running' | 'stopped' | 'error';

export interface SandboxRecord {
  id: string;
  codebaseId: string;
  rules: NormalizedRule[];
  state: SandboxState;
  labels: Record<string, string>;
  createdAt: string;
  startedAt?: string;
  stoppedAt?: string;
  expiresAt?: string;
  resources?: ResourceLimitValues;
  /** Absent in records of servers before the Docker runtime: bubblewrap. */
  runtime?: SandboxRuntime;
}

export function runtimeOf(r: SandboxRecord): SandboxRuntime {
  return r.runtime ?? BWRAP;
}

const WIRE_STATUS: Record<SandboxState, SandboxStatus> = {
  pending: SandboxStatus.SANDBOX_STATUS_PENDING,
  running: SandboxStatus.SANDBOX_STATUS_RUNNING,
  stopped: SandboxStatus.SANDBOX_STATUS_STOPPED,
  error: SandboxStatus.SANDBOX_STATUS_ERROR,
};

const date = (s: string | undefined) => (s ? new Date(s) : undefined);

/** Where a sandbox stands in ListSandboxes' order (rpc/paging.ts). */
export function listPosition(r: SandboxRecord): PageCursor {
  return { createdAtMs: Date.parse(r.createdAt), id: r.id };
}

export function recordToWire(r: SandboxRecord): Sandbox {
  return {
    id: r.id,
    codebaseId: r.codebaseId,
    permissions: rulesToWire(r.rules),
    status: WIRE_STATUS[r.state],
    labels: { ...r.labels },
    createdAt: date(r.createdAt),
    startedAt: date(r.startedAt),
    stoppedAt: date(r.stoppedAt),
    expiresAt: date(r.expiresAt),
    ...runtimeToWire(runtimeOf(r)),
    resources: r.resources ? { ...r.resources } : undefined,
  };
}

function runtimeToWire(rt: SandboxRuntime): Pick<Sandbox, 'runtime' | 'image'> {
  return rt.kind === 'docker'
    ? { runtime: RuntimeType.RUNTIME_TYPE_DOCKER, image: rt.image }
    : { runtime: RuntimeType.RUNTIME_TYPE_BWRAP, image: '' };
}

/** Written to a temp file and renamed: a crash leaves the old or the new record, never half. */
export function saveRecord(sandboxDir: string, r: SandboxRecord): void {
  const tmp = join(sandboxDir, 'sandbox.json.tmp');
  fs.writeFileSync(tmp, JSON.stringify(r, null, 2));
  fs.renameSync(tmp, join(sandboxDir, 'sandbox.json'));
}

export function loadRecord(sandboxDir: string): SandboxRecord {
  return JSON.parse(fs.readFileSync(join(sandboxDir, 'sandbox.json'), 'utf8')) as SandboxRecord;
}
