/**
 * Sandbox lifecycle: PENDING → RUNNING → STOPPED, destroy from any state, expiry, persistence
 * in `<data>/sandboxes/<id>/sandbox.json`, and recovery after a crash or restart.
 */
import { networkPolicyOf } from '../../shared/networkPolicy';
import * as fs from 'node:fs';
import { join } from 'node:path';
import type { CodebaseAccess } from '../codebase/contract';
import type { NormalizedRule } from '../../shared/permissions';
import { failedPrecondition, notFound } from '../rpc/rpcError';
import { requireField } from '../rpc/requiredField';
import { newSandboxId, isSandboxId } from './ids';
import { listPosition, loadRecord, runtimeOf, saveRecord, type SandboxRecord } from './sandboxRecord';
import type { SandboxRuntime } from '../../shared/sandboxRuntime';
import { compareCursors } from '../rpc/paging';
import { LiveSandbox, type RuntimeContext } from './liveSandbox';
import { mountsUnder, unmount } from './view/hostMounts';
import { killBwrapsMentioning } from './runtime/processTree';
import { removeTree } from './view/treeRemoval';
import { sandboxWalkDir } from '../dataDirAccess';
import type { SandboxSession } from './sandboxSession';
import type { ResourceLimitValues } from './runtime/cgroupLimits';

export interface CreateSpec {
  codebaseId: string;
  rules: NormalizedRule[];
  labels: Record<string, string>;
  expiresInMs?: number;
  resources?: ResourceLimitValues;
  runtime: SandboxRuntime;
}

/** setTimeout's limit; longer expiries re-arm. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export class SandboxManager {
  private readonly records = new Map<string, SandboxRecord>();
  private readonly live = new Map<string, LiveSandbox>();
  private readonly transitions = new Map<string, Promise<unknown>>();
  private readonly expiryTimers = new Map<string, NodeJS.Timeout>();
  private readonly sessionIndex = new Map<string, string>();
  private readonly destroyedListeners: ((r: SandboxRecord) => void)[] = [];
  private readonly root: string;

  constructor(private readonly ctx: RuntimeContext) {
    this.root = join(ctx.dataDir, 'sandboxes');
  }

  get store(): CodebaseAccess {
    return this.ctx.store;
  }

  /**
   * After a crash: processes left by the previous server are killed, mounts under the data dir
   * unmounted, stale cgroups removed; RUNNING sandboxes come back STOPPED; expired ones go.
   * A layer the server cannot remove (whatever the sandbox made of it) is logged, never a
   * reason not to start: it is tried again when the sandbox starts or is destroyed.
   */
  async recover(): Promise<void> {
    sandboxWalkDir(this.root, this.ctx.identity);
    this.killLeftoverProcesses();
    for (const m of mountsUnder(this.ctx.dataDir)) await unmount(m);
    this.ctx.cgroups.removeStale();
    for (const id of fs.readdirSync(this.root)) {
      const dir = join(this.root, id);
      if (!isSandboxId(id)) continue;
      let r: SandboxRecord;
      try {
        r = loadRecord(dir);
      } catch (err) {
        this.ctx.log.warn('dropping unreadable sandbox state', { sandbox: id, error: String(err) });
        await this.removeLogged(dir, id);
        continue;
      }
      for (const d of ['layer', 'mnt', 'copy', 'staging', 'rw']) await this.removeLogged(join(dir, d), id);
      sandboxWalkDir(dir, this.ctx.identity); // an older server left it 0711
      if (r.state === 'running') {
        r.state = 'stopped';
        r.stoppedAt = new Date().toISOString();
        saveRecord(dir, r);
      }
      this.records.set(id, r);
      this.armExpiry(r);
    }
    await this.removeLeftoverContainers();
    this.ctx.log.info('recovered sandboxes', { count: this.records.size });
  }

  /**
   * The containers of Docker sandboxes the previous server ran (none of them runs now). Only
   * when there are Docker sandboxes: a server that never used Docker never connects to it.
   */
  private async removeLeftoverContainers(): Promise<void> {
    if (![...this.records.values()].some((r) => runtimeOf(r).kind === 'docker')) return;
    try {
      const removed = await this.ctx.docker.removeContainersOf(this.ctx.serverTag);
      if (removed > 0) this.ctx.log.info('removed leftover sandbox containers', { count: removed });
    } catch (err) {
      this.ctx.log.warn('could not remove leftover sandbox containers', { error: String(err) });
    }
  }

  create(spec: CreateSpec): SandboxRecord {
    const id = newSandboxId();
    const now = new Date();
    const r: SandboxRecord = {
      id,
      codebaseId: spec.codebaseId,
      rules: spec.rules,
      state: 'pending',
      labels: spec.labels,
      createdAt: now.toISOString(),
      expiresAt: spec.expiresInMs ? new Date(now.getTime() + spec.expiresInMs).toISOString() : undefined,
      resources: spec.resources,
      runtime: spec.runtime,
    };
    const dir = join(this.root, id);
    fs.mkdirSync(dir, { mode: 0o700 });
    sandboxWalkDir(dir, this.ctx.identity);
    saveRecord(dir, r);
    this.records.set(id, r);
    this.armExpiry(r);
    return r;
  }

  get(id: string): SandboxRecord {
    requireField(id, 'sandbox_id');
    const r = this.records.get(id);
    if (!r) throw notFound(`sandbox ${id} not found`);
    return r;
  }

  list(codebaseId: string): SandboxRecord[] {
    return (
      [...this.records.values()]
        .filter((r) => !codebaseId || r.codebaseId === codebaseId)
        // The order paging's cursor assumes (rpc/paging.ts).
        .sort((a, b) => compareCursors(listPosition(a), listPosition(b)))
    );
  }

  /** A RUNNING sandbox using the codebase, if any (the store refuses to delete it then). */
  sandboxUsing(codebaseId: string): string | undefined {
    for (const r of this.records.values()) if (r.codebaseId === codebaseId && r.state === 'running') return r.id;
    return undefined;
  }

  start(id: string): Promise<SandboxRecord> {
    return this.transition(id, async () => {
      const r = this.get(id);
      if (r.state === 'running') throw failedPrecondition(`sandbox ${id} is already running`);
      const sb = await LiveSandbox.start(this.ctx, {
        id,
        codebaseId: r.codebaseId,
        rules: r.rules,
        network: networkPolicyOf(r.labels),
        resources: r.resources,
        runtime: runtimeOf(r),
      });
      this.live.set(id, sb);
      r.state = 'running';
      r.startedAt = new Date().toISOString();
      r.stoppedAt = undefined;
      this.save(r);
      return r;
    });
  }

  stop(id: string): Promise<SandboxRecord> {
    return this.transition(id, async () => {
      const r = this.get(id);
      // As the original server: stopping what does not run is a state error.
      if (r.state !== 'running') throw failedPrecondition(`sandbox ${id} is not running`);
      await this.stopLive(id);
      r.state = 'stopped';
      r.stoppedAt = new Date().toISOString();
      this.save(r);
      return r;
    });
  }

  destroy(id: string): Promise<void> {
    return this.transition(id, async () => {
      const r = this.get(id);
      await this.stopLive(id);
      clearTimeout(this.expiryTimers.get(id));
      this.expiryTimers.delete(id);
      this.records.delete(id);
      await removeTree(join(this.root, id));
      for (const l of this.destroyedListeners) l(r);
    });
  }

  /** Called after each destroy, by a call or by expiry (the E2B front deletes the sandbox's own codebase). */
  onDestroyed(listener: (r: SandboxRecord) => void): void {
    this.destroyedListeners.push(listener);
  }

  /** A new expiry, `ms` from now (0: never), as E2B's setTimeout and connect ask. */
  setExpiry(id: string, ms: number): SandboxRecord {
    const r = this.get(id);
    clearTimeout(this.expiryTimers.get(id));
    this.expiryTimers.delete(id);
    r.expiresAt = ms > 0 ? new Date(Date.now() + ms).toISOString() : undefined;
    this.save(r);
    this.armExpiry(r);
    return r;
  }

  /** The running sandbox, or FAILED_PRECONDITION. */
  running(id: string): LiveSandbox {
    const r = this.get(id);
    const sb = this.live.get(id);
    if (r.state !== 'running' || !sb) throw failedPrecondition(`sandbox ${id} is not running`);
    return sb;
  }

  registerSession(session: SandboxSession): void {
    this.sessionIndex.set(session.id, session.sandboxId);
  }

  session(sessionId: string): { sandbox: LiveSandbox | undefined; session: SandboxSession } {
    requireField(sessionId, 'session_id');
    const sandboxId = this.sessionIndex.get(sessionId);
    const sandbox = sandboxId ? this.live.get(sandboxId) : undefined;
    const session = sandbox?.sessions.get(sessionId);
    if (!session) throw notFound(`session ${sessionId} not found`);
    return { sandbox, session };
  }

  sessionsOf(sandboxId: string): SandboxSession[] {
    this.get(sandboxId);
    return [...(this.live.get(sandboxId)?.sessions.values() ?? [])];
  }

  /** SIGTERM: stop every sandbox (their state says RUNNING → STOPPED on disk). */
  async shutdown(): Promise<void> {
    for (const t of this.expiryTimers.values()) clearTimeout(t);
    await Promise.allSettled([...this.live.keys()].map((id) => this.stop(id)));
    // (stop() refuses sandboxes that are not running; those have nothing to stop.)
  }

  private async removeLogged(path: string, sandboxId: string): Promise<void> {
    try {
      await removeTree(path);
    } catch (err) {
      this.ctx.log.warn('could not remove part of a sandbox; left in place', {
        sandbox: sandboxId,
        path,
        error: String(err),
      });
    }
  }

  private async stopLive(id: string): Promise<void> {
    const sb = this.live.get(id);
    if (!sb) return;
    this.live.delete(id);
    for (const s of sb.sessions.keys()) this.sessionIndex.delete(s);
    await sb.stop();
  }

  private save(r: SandboxRecord): void {
    saveRecord(join(this.root, r.id), r);
  }

  /** One lifecycle change at a time per sandbox. */
  private transition<T>(id: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.transitions.get(id) ?? Promise.resolve();
    const run = prev.then(fn);
    const settled = run.catch(() => {});
    this.transitions.set(id, settled);
    void settled.then(() => {
      if (this.transitions.get(id) === settled) this.transitions.delete(id);
    });
    return run;
  }

  private armExpiry(r: SandboxRecord): void {
    if (!r.expiresAt) return;
    const arm = () => {
      const left = new Date(r.expiresAt!).getTime() - Date.now();
      if (left <= 0) {
        this.ctx.log.info('sandbox expired', { sandbox: r.id });
        this.destroy(r.id).catch((err) =>
          this.ctx.log.error('destroying expired sandbox failed', { sandbox: r.id, error: String(err) }),
        );
        return;
      }
      const t = setTimeout(arm, Math.min(left, MAX_TIMER_MS));
      t.unref();
      this.expiryTimers.set(r.id, t);
    };
    arm();
  }

  /**
   * bwrap processes of an earlier server die with it (--die-with-parent); any that did not
   * (e.g. the server was in another pid namespace) are found by our data dir in their
   * command line.
   */
  private killLeftoverProcesses(): void {
    killBwrapsMentioning(join(this.ctx.dataDir, 'sandboxes') + '/');
  }
}
