/**
 * A RUNNING sandbox: its view lease, copy-on-write layer, bwrap mount arguments, cgroups,
 * commands in flight and sessions.
 *
 * Consistency model: a command sees the codebase as of its start plus its own writes (and
 * those of earlier commands in this sandbox). After every command the layer's `write`-level
 * changes are merged into the codebase (last writer wins). Before a command, if the codebase
 * changed by something other than this sandbox's own merges (an upload, another sandbox)
 * and nothing runs in this sandbox (no command, no open session), the sandbox is refreshed:
 * a view of the new version, a fresh layer (everything in the old one was merged; writes to
 * non-writable paths, which never reach the codebase, are dropped with it).
 */
import * as fs from 'node:fs';
import { join } from 'node:path';
import type { CodebaseAccess } from '../codebase/contract';
import type { NormalizedRule } from '../../shared/permissions';
import { ViewCache, type ViewLease } from './viewCache';
import { WritableLayer, type CowMode } from './writableLayer';
import { ChangeMerger } from './changeMerger';
import { bwrapMountArgs, commandEnv, envArgs, sandboxWorkdir } from './bwrapArgs';
import type { SandboxIdentity } from './sandboxIdentity';
import { CgroupLimits, hasLimits, type ResourceLimitValues } from './cgroupLimits';
import { runCommand, type OutputSink, type RunOutcome } from './commandRunner';
import { ShellSession, type SessionCommandOutcome } from './shellSession';
import { SUPERVISOR_IN_SANDBOX, SUPERVISOR_SCRIPT, supervisorShellPath } from './sessionSupervisor';
import type { Launch } from './bwrapLauncher';
import type { Logger } from '../logger';
import { failedPrecondition } from '../rpcError';
import { killBwrapsMentioning } from './processTree';

export interface RuntimeContext {
  dataDir: string;
  store: CodebaseAccess;
  views: ViewCache;
  identity: SandboxIdentity;
  cowMode: CowMode;
  cgroups: CgroupLimits;
  log: Logger;
}

export interface LiveSandboxSpec {
  id: string;
  codebaseId: string;
  rules: NormalizedRule[];
  network: boolean;
  resources?: ResourceLimitValues;
}

export interface ExecOptions {
  command: string;
  stdin: string;
  env: Record<string, string>;
  workdir: string;
  timeoutMs?: number;
  sink?: OutputSink;
  abort?: AbortSignal;
}

export class LiveSandbox {
  readonly sessions = new Map<string, ShellSession>();
  private view!: ViewLease;
  private layer!: WritableLayer;
  private readonly merger: ChangeMerger;
  private mountArgs: string[] = [];
  private cgroupProcs: string[] = [];
  private knownVersion = '';
  private activeCommands = 0;
  /** Set when stop() begins: nothing new may start, whatever was queued before it. */
  private stopping = false;
  private readonly inFlight = new Set<Promise<unknown>>();
  private readonly aborts = new Set<AbortController>();
  private chain: Promise<unknown> = Promise.resolve();
  private readonly dir: string;
  private readonly tmpDir: string;

  private constructor(
    private readonly ctx: RuntimeContext,
    readonly spec: LiveSandboxSpec,
  ) {
    this.dir = join(ctx.dataDir, 'sandboxes', spec.id);
    this.tmpDir = join(this.dir, 'tmp');
    this.merger = new ChangeMerger(spec.codebaseId, ctx.store, join(this.dir, 'staging'));
  }

  static async start(ctx: RuntimeContext, spec: LiveSandboxSpec): Promise<LiveSandbox> {
    const sb = new LiveSandbox(ctx, spec);
    fs.mkdirSync(sb.tmpDir, { recursive: true, mode: 0o700 });
    if (ctx.identity.serverIsRoot) fs.chownSync(sb.tmpDir, ctx.identity.uid, ctx.identity.gid);
    try {
      if (hasLimits(spec.resources)) sb.cgroupProcs = ctx.cgroups.create(spec.id, spec.resources);
      await sb.mountCurrentVersion();
    } catch (err) {
      await sb.tearDown();
      throw err;
    }
    return sb;
  }

  /** Runs one command in a fresh bwrap, then merges its changes. */
  async exec(o: ExecOptions): Promise<RunOutcome> {
    // Validate before touching anything.
    const env = envArgs(o.env);
    const cwd = sandboxWorkdir(o.workdir);
    const abort = new AbortController();
    if (o.abort) {
      if (o.abort.aborted) abort.abort();
      else o.abort.addEventListener('abort', () => abort.abort(), { once: true });
    }
    this.aborts.add(abort);
    const work = (async () => {
      await this.locked(async () => {
        this.refuseIfStopping();
        await this.refreshIfStale();
        this.activeCommands++;
      });
      try {
        const launch = this.launch([...env, '--chdir', cwd, '/bin/sh', '-c', o.command]);
        return await runCommand({ launch, stdin: o.stdin, timeoutMs: o.timeoutMs, sink: o.sink, abort: abort.signal });
      } finally {
        await this.locked(async () => {
          try {
            await this.mergeNow();
          } finally {
            this.activeCommands--;
          }
        });
      }
    })();
    this.inFlight.add(work);
    try {
      return await work;
    } finally {
      this.inFlight.delete(work);
      this.aborts.delete(abort);
    }
  }

  async openSession(sessionId: string, shell: string, requestEnv: Record<string, string>): Promise<ShellSession> {
    const env = commandEnv(requestEnv);
    this.refuseIfStopping();
    return this.locked(async () => {
      // Checked again under the lock: a stop that began while this waited has already closed
      // the sessions it knew of, so a shell started now would outlive the sandbox.
      this.refuseIfStopping();
      await this.refreshIfStale();
      // The supervisor gets a fixed environment; the session's goes into each command's prelude.
      const supervisor = [
        ...['--clearenv', '--setenv', 'PATH', '/usr/bin:/bin'],
        ...['--ro-bind', supervisorShellPath(this.ctx.dataDir), SUPERVISOR_IN_SANDBOX, '--chdir', '/workspace'],
        ...[SUPERVISOR_IN_SANDBOX, '-c', SUPERVISOR_SCRIPT, 'agentfense-session', shell, `/tmp/.agentfense-state-${sessionId}`],
      ];
      const session = new ShellSession(sessionId, this.spec.id, shell, this.launch(supervisor), `/tmp/.agentfense-state-${sessionId}`, {
        cwd: '/workspace',
        env,
      });
      this.sessions.set(sessionId, session);
      return session;
    });
  }

  async sessionExec(
    session: ShellSession,
    command: string,
    timeoutMs: number | undefined,
    sink?: OutputSink,
    abort?: AbortSignal,
  ): Promise<SessionCommandOutcome> {
    const work = (async () => {
      try {
        return await session.exec(command, timeoutMs, sink, abort);
      } finally {
        await this.locked(() => this.mergeNow());
      }
    })();
    this.inFlight.add(work);
    try {
      return await work;
    } finally {
      this.inFlight.delete(work);
    }
  }

  /** Kills everything, waits for in-flight merges, unmounts and removes the layer and cgroups. */
  async stop(): Promise<void> {
    this.stopping = true;
    for (const a of this.aborts) a.abort();
    for (const s of this.sessions.values()) s.close();
    await Promise.allSettled([...this.inFlight]);
    await this.locked(async () => {
      // Belt and braces: no session may survive the teardown of its mounts.
      for (const s of this.sessions.values()) s.close();
      const orphans = killBwrapsMentioning(this.dir + '/');
      if (orphans > 0) this.ctx.log.warn('killed orphaned sandbox processes', { sandbox: this.spec.id, count: orphans });
      await this.tearDown();
    });
  }

  private refuseIfStopping(): void {
    if (this.stopping) throw failedPrecondition(`sandbox ${this.spec.id} is not running (it is stopping)`);
  }

  private launch(tail: string[]): Launch {
    return { bwrapArgs: [...this.mountArgs, ...tail], sandboxDir: this.dir, identity: this.ctx.identity, cgroupProcs: this.cgroupProcs };
  }

  private hasOpenSessions(): boolean {
    for (const s of this.sessions.values()) if (!s.closed) return true;
    return false;
  }

  private async refreshIfStale(): Promise<void> {
    if (this.activeCommands > 0 || this.hasOpenSessions()) return;
    if (this.ctx.store.snapshot(this.spec.codebaseId).version === this.knownVersion) return;
    this.ctx.log.debug('sandbox refresh', { sandbox: this.spec.id });
    await this.layer.tearDown();
    this.view.release();
    this.merger.reset();
    await this.mountCurrentVersion();
  }

  private async mountCurrentVersion(): Promise<void> {
    const snapshot = this.ctx.store.snapshot(this.spec.codebaseId);
    this.view = this.ctx.views.acquire(snapshot, this.spec.rules);
    this.layer = new WritableLayer(this.dir, this.ctx.cowMode, this.ctx.identity, this.view);
    const layers = await this.layer.setUp();
    this.mountArgs = bwrapMountArgs({
      viewDir: this.view.dir,
      tmpDir: this.tmpDir,
      layers,
      readOnlyBinds: this.view.plan.readOnlyBinds,
      network: this.spec.network,
    });
    this.knownVersion = snapshot.version;
  }

  private async mergeNow(): Promise<void> {
    const before = this.ctx.store.snapshot(this.spec.codebaseId).version;
    const outcome = await this.merger.merge(this.layer);
    // Only our own merge moved the version: the layer still equals the codebase.
    if (outcome.snapshot && before === this.knownVersion) this.knownVersion = outcome.snapshot.version;
    if (outcome.written.length || outcome.deleted.length) {
      this.ctx.log.debug('merged', { sandbox: this.spec.id, written: outcome.written.length, deleted: outcome.deleted.length });
    }
  }

  private async tearDown(): Promise<void> {
    await this.layer?.tearDown().catch((err) => this.ctx.log.warn('layer teardown failed', { sandbox: this.spec.id, error: String(err) }));
    this.view?.release();
    if (hasLimits(this.spec.resources)) this.ctx.cgroups.remove(this.spec.id);
  }

  /** Layer changes (refresh, merge, teardown) happen one at a time. */
  private locked<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.chain.then(fn);
    this.chain = run.catch(() => {});
    return run;
  }
}
