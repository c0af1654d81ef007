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
import { chown, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { CodebaseAccess } from '../codebase/contract';
import { PermissionEngine, type NormalizedRule } from '../../shared/permissions';
import { audited, STRACE, STRACE_IN_SANDBOX } from './audit/auditedCommand';
import { DenialLog, type CountedDenial } from './audit/denialLog';
import { ViewCache, type ViewLease } from './view/viewCache';
import { WritableLayer, type CowMode } from './view/writableLayer';
import { ChangeMerger } from './view/changeMerger';
import { bwrapMountArgs, commandEnv, envArgs, sandboxWorkdir } from './runtime/bwrapArgs';
import type { SandboxIdentity } from './sandboxIdentity';
import { CgroupLimits, hasLimits, type ResourceLimitValues } from './runtime/cgroupLimits';
import { runCommand, type CommandInput, type OutputSink, type RunOutcome } from './runtime/commandRunner';
import { ShellSession, type SessionCommandOutcome } from './runtime/shellSession';
import { PTY_HELPER_IN_SANDBOX, PTY_HELPER, PtyTerminal, shellInvocation } from './runtime/ptyTerminal';
import { PRIVATE_ARGS_FD, SCRIPT_FD, SCRIPT_PATH, type Launch } from './runtime/bwrapLauncher';
import { sandboxWalkDir } from '../dataDirAccess';
import { SUPERVISOR_IN_SANDBOX, SUPERVISOR_SCRIPT, supervisorShellPath } from './runtime/sessionSupervisor';
import type { Logger } from '../logger';
import { failedPrecondition } from '../rpc/rpcError';
import { killBwrapsMentioning } from './runtime/processTree';
import type { MergeLimits } from './view/mergeLimits';
import type { LaunchGate } from './runtime/launchGate';
import { mountTmpfs, unmount } from './view/hostMounts';
import { removeTree } from './view/treeRemoval';
import type { NetworkPolicy } from '../../shared/networkPolicy';
import { proxyEnv, SandboxEgress } from '../network/sandboxEgress';
import type { Resolution } from '../network/egressProxy';
import { countRefusals, type RefusedConnectionWire } from '../../shared/connectionRefusals';
import type { SandboxRuntime } from '../../shared/sandboxRuntime';
import type { SandboxSession } from './sandboxSession';
import { OneAtATime } from './oneAtATime';
import type { DockerEngine } from './docker/dockerEngine';
import { SandboxContainer } from './docker/sandboxContainer';
import { DockerSession } from './docker/dockerSession';
import { CONTAINER_INIT } from './docker/containerConfig';

export interface RuntimeContext {
  dataDir: string;
  store: CodebaseAccess;
  views: ViewCache;
  identity: SandboxIdentity;
  cowMode: CowMode;
  cgroups: CgroupLimits;
  log: Logger;
  mergeLimits: MergeLimits;
  /** Size of each sandbox's /dev/shm tmpfs. */
  shmBytes: number;
  /** Paces one-shot command launches server-wide. */
  launchGate: LaunchGate;
  /** Where sandboxes' egress proxies listen (network/sandboxEgress.ts). */
  egressDir: string;
  resolveEgress: (host: string) => Promise<Resolution>;
  /** The engine Docker sandboxes run on (nothing connects until one is started). */
  docker: DockerEngine;
  /** Labels this server's containers, so a restarted server finds its leftovers. */
  serverTag: string;
}

export interface LiveSandboxSpec {
  id: string;
  codebaseId: string;
  rules: NormalizedRule[];
  network: NetworkPolicy;
  resources?: ResourceLimitValues;
  runtime: SandboxRuntime;
}

export interface ExecOptions {
  command: string;
  stdin: CommandInput;
  env: Record<string, string>;
  workdir: string;
  timeoutMs?: number;
  sink?: OutputSink;
  abort?: AbortSignal;
  /** Record the accesses the rules refused (strace; see audit/). */
  audit?: boolean;
}

/** What an audited command was refused (undefined: it was not audited). */
export interface AuditOutcome {
  denials?: CountedDenial[];
  /** Distinct denials beyond the ones kept. */
  denialsDropped?: number;
  /**
   * Connections the sandbox's egress proxy refused while the command ran (audited or not; a
   * sandbox's commands at once share its proxy, so one may see another's).
   */
  refusedConnections?: RefusedConnectionWire[];
}

export interface TerminalOptions {
  id: string;
  shell: string;
  rows: number;
  cols: number;
  env: Record<string, string>;
  workdir: string;
}

/** What a terminal's owner hears: its output, each merge that changed something, its end (after the last merge). */
export interface TerminalHandlers {
  output(data: Buffer): boolean;
  merged(pathsMerged: number, notes: string): void;
  ended(exitCode: number, problem?: string): void;
}

export class LiveSandbox {
  readonly sessions = new Map<string, SandboxSession>();
  private readonly terminals = new Set<PtyTerminal>();
  /** The codebase's files and folders at one version, to tell a hidden path from a missing one. */
  private pathsOf: { version: string; paths: ReadonlySet<string> } | undefined;
  private rulesEngine: PermissionEngine | undefined;
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
  private readonly layerChanges = new OneAtATime();
  private readonly dir: string;
  /**
   * Where the writable layer's data and /tmp live: as root a tmpfs of the layer quota's size
   * (`rw/`, mounted for the sandbox's running life), else the sandbox dir itself.
   */
  private readonly layerDir: string;
  private layerFs?: string;
  private readonly tmpDir: string;
  /** The way out, when the network policy lets anything out. */
  private egress: SandboxEgress | undefined;
  /** A Docker sandbox's container for the current view (replaced when the view is). */
  private container: SandboxContainer | undefined;

  private constructor(
    private readonly ctx: RuntimeContext,
    readonly spec: LiveSandboxSpec,
  ) {
    this.dir = join(ctx.dataDir, 'sandboxes', spec.id);
    this.layerDir = ctx.identity.serverIsRoot ? join(this.dir, 'rw') : this.dir;
    this.tmpDir = join(this.layerDir, 'tmp');
    this.merger = new ChangeMerger(spec.codebaseId, ctx.store, join(this.dir, 'staging'), ctx.mergeLimits);
  }

  static async start(ctx: RuntimeContext, spec: LiveSandboxSpec): Promise<LiveSandbox> {
    const sb = new LiveSandbox(ctx, spec);
    try {
      if (ctx.identity.serverIsRoot) {
        // The kernel enforces the layer quota: the layer and /tmp cannot outgrow this tmpfs.
        await mkdir(sb.layerDir, { recursive: true, mode: 0o700 });
        await mountTmpfs(sb.layerDir, ctx.mergeLimits.layerQuotaBytes, 0o700);
        sb.layerFs = sb.layerDir;
        // Like every directory bwrap walks as the sandbox user: root:<sandbox gid> 0710, no one else.
        sandboxWalkDir(sb.layerDir, ctx.identity);
      }
      await mkdir(sb.tmpDir, { recursive: true, mode: 0o700 });
      if (ctx.identity.serverIsRoot) await chown(sb.tmpDir, ctx.identity.uid, ctx.identity.gid);
      // Docker enforces a container's limits itself (containerConfig.ts).
      if (spec.runtime.kind === 'bwrap' && hasLimits(spec.resources))
        sb.cgroupProcs = ctx.cgroups.create(spec.id, spec.resources);
      sb.egress = await SandboxEgress.open({
        egressDir: ctx.egressDir,
        sandboxId: spec.id,
        dataDir: ctx.dataDir,
        identity: ctx.identity,
        policy: spec.network,
        resolve: ctx.resolveEgress,
      });
      await sb.mountCurrentVersion();
    } catch (err) {
      await sb.tearDown();
      throw err;
    }
    return sb;
  }

  /** Runs one command in a fresh bwrap, then merges its changes. */
  async exec(o: ExecOptions): Promise<RunOutcome & MergeCount & AuditOutcome> {
    // Validate before touching anything.
    const env = this.envArgs(o.env);
    const cwd = sandboxWorkdir(o.workdir);
    if (o.audit && this.spec.runtime.kind === 'docker')
      throw failedPrecondition(
        'auditing what a command was refused needs the bubblewrap runtime; this sandbox runs in Docker',
      );
    if (o.audit && !STRACE.isInstalled(this.ctx.dataDir)) throw STRACE.missing();
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
      let outcome: RunOutcome | undefined;
      let pathsMerged = 0;
      const denials = o.audit ? this.denialLog(cwd) : undefined;
      const started = Date.now() / 1000;
      try {
        outcome = this.container
          ? await this.container.run({
              script: o.command,
              env: this.containerEnv(o.env),
              workdir: cwd,
              stdin: o.stdin,
              timeoutMs: o.timeoutMs,
              sink: o.sink,
              abort: abort.signal,
            })
          : await this.runWithBwrap(o, env, cwd, abort.signal, denials);
      } finally {
        try {
          const merged = await this.mergeLocked();
          pathsMerged = merged.paths;
          if (merged.notes && outcome) tellNotes(outcome, merged.notes, o.sink);
        } finally {
          this.activeCommands--;
        }
      }
      const refused = this.egress ? countRefusals(this.egress.refusedSince(started)) : [];
      return {
        ...outcome,
        pathsMerged,
        ...(denials ? { denials: denials.denials, denialsDropped: denials.dropped } : {}),
        ...(refused.length ? { refusedConnections: refused } : {}),
      };
    })();
    this.inFlight.add(work);
    try {
      return await work;
    } finally {
      this.inFlight.delete(work);
      this.aborts.delete(abort);
    }
  }

  /** One command in a fresh bwrap: env values and the command go through pipes (bwrap's command line is public). */
  private runWithBwrap(
    o: ExecOptions,
    env: string[],
    cwd: string,
    abort: AbortSignal,
    denials: DenialLog | undefined,
  ): Promise<RunOutcome> {
    const program = ['/bin/sh', SCRIPT_PATH];
    const extraBinds = o.audit ? ['--ro-bind', STRACE.path(this.ctx.dataDir), STRACE_IN_SANDBOX] : [];
    const launch = this.launch(
      [...env, '--chdir', cwd, ...extraBinds, '--ro-bind-data', String(SCRIPT_FD), SCRIPT_PATH],
      o.audit ? audited(program) : program,
      o.command,
    );
    return runCommand({
      launch: { ...launch, auditPipe: o.audit },
      gate: this.ctx.launchGate,
      stdin: o.stdin,
      timeoutMs: o.timeoutMs,
      sink: o.sink,
      abort,
      onAudit: denials && ((chunk) => denials.push(chunk)),
    });
  }

  /** A command's denials, judged by this sandbox's rules and its codebase as the command starts. */
  private denialLog(cwd: string): DenialLog {
    const snapshot = this.ctx.store.snapshot(this.spec.codebaseId);
    if (this.pathsOf?.version !== snapshot.version) {
      const paths = new Set<string>();
      for (const path of snapshot.entries.keys()) {
        const parts = path.split('/');
        for (let i = 1; i <= parts.length; i++) paths.add(parts.slice(0, i).join('/'));
      }
      this.pathsOf = { version: snapshot.version, paths };
    }
    const { paths } = this.pathsOf;
    this.rulesEngine ??= new PermissionEngine(this.spec.rules);
    return new DenialLog({ rules: this.rulesEngine, exists: (p) => paths.has(p), cwd });
  }

  async openSession(sessionId: string, shell: string, requestEnv: Record<string, string>): Promise<SandboxSession> {
    const env = commandEnv(this.egress ? { ...proxyEnv(), ...requestEnv } : requestEnv);
    this.refuseIfStopping();
    return this.locked(async () => {
      // Checked again under the lock: a stop that began while this waited has already closed
      // the sessions it knew of, so a shell started now would outlive the sandbox.
      this.refuseIfStopping();
      await this.refreshIfStale();
      if (this.container) {
        const session = new DockerSession({
          id: sessionId,
          sandboxId: this.spec.id,
          shell,
          tmpDir: this.tmpDir,
          state: { cwd: '/workspace', env: this.containerEnv(requestEnv) },
          // The container of the moment: it is replaced only while no session is open.
          run: (r) => this.container!.run(r),
          end: async () => this.container?.endSession(sessionId),
        });
        this.sessions.set(sessionId, session);
        return session;
      }
      // The supervisor gets a fixed environment; the session's goes into each command's prelude.
      const statePath = `/tmp/.agentfense-state-${sessionId}`;
      const supervisor = this.launch(
        [
          '--clearenv',
          '--setenv',
          'PATH',
          '/usr/bin:/bin',
          '--ro-bind',
          supervisorShellPath(this.ctx.dataDir),
          SUPERVISOR_IN_SANDBOX,
          '--chdir',
          '/workspace',
        ],
        [SUPERVISOR_IN_SANDBOX, '-c', SUPERVISOR_SCRIPT, 'agentfense-session', shell, statePath],
      );
      const session = new ShellSession(sessionId, this.spec.id, shell, supervisor, statePath, {
        cwd: '/workspace',
        env,
      });
      this.sessions.set(sessionId, session);
      return session;
    });
  }

  /**
   * Opens an interactive terminal. The sandbox's changes are merged each time its shell is
   * back at the prompt after a line (one merge at a time, a request during one runs once
   * after it) and when it ends.
   */
  async openTerminal(o: TerminalOptions, h: TerminalHandlers): Promise<PtyTerminal> {
    if (this.spec.runtime.kind === 'docker')
      throw failedPrecondition(
        'interactive terminals need the bubblewrap runtime; in a Docker sandbox use a session (CreateSession) or Exec',
      );
    const env = this.envArgs(o.env);
    const cwd = sandboxWorkdir(o.workdir);
    if (!PTY_HELPER.isInstalled(this.ctx.dataDir)) throw PTY_HELPER.missing();
    this.refuseIfStopping();
    return this.locked(async () => {
      this.refuseIfStopping(); // as in openSession
      await this.refreshIfStale();
      let merging: Promise<void> | undefined;
      let mergeAgain = false;
      const mergeNow = async () => {
        try {
          const m = await this.mergeLocked();
          if (m.paths > 0 || m.notes) h.merged(m.paths, m.notes);
        } catch (err) {
          this.ctx.log.warn('terminal merge failed', { sandbox: this.spec.id, error: String(err) });
        }
      };
      const requestMerge = () => {
        if (merging) return void (mergeAgain = true);
        merging = (async () => {
          do {
            mergeAgain = false;
            await mergeNow();
          } while (mergeAgain);
          merging = undefined;
        })();
      };
      let ended!: () => void;
      // Counted in flight from now: a stop waits for the terminal's last merge.
      const done = new Promise<void>((resolve) => (ended = resolve));
      this.inFlight.add(done);
      const { program, script } = shellInvocation(o.shell, o.rows, o.cols);
      const terminal = new PtyTerminal(
        o.id,
        this.launch(
          [
            ...env,
            '--chdir',
            cwd,
            '--ro-bind',
            PTY_HELPER.path(this.ctx.dataDir),
            PTY_HELPER_IN_SANDBOX,
            '--ro-bind-data',
            String(SCRIPT_FD),
            SCRIPT_PATH,
          ],
          program,
          script,
        ),
        {
          output: (data) => h.output(data),
          prompt: requestMerge,
          ended: (exitCode, problem) => {
            this.terminals.delete(terminal);
            void (async () => {
              await merging;
              await mergeNow();
              h.ended(exitCode, problem);
              this.inFlight.delete(done);
              ended();
            })();
          },
        },
      );
      this.terminals.add(terminal);
      return terminal;
    });
  }

  async sessionExec(
    session: SandboxSession,
    command: string,
    timeoutMs: number | undefined,
    sink?: OutputSink,
    abort?: AbortSignal,
  ): Promise<SessionCommandOutcome & MergeCount> {
    const work = (async () => {
      let outcome: SessionCommandOutcome | undefined;
      let pathsMerged = 0;
      try {
        outcome = await session.exec(command, timeoutMs, sink, abort);
      } finally {
        const merged = await this.mergeLocked();
        pathsMerged = merged.paths;
        if (merged.notes && outcome) tellNotes(outcome, merged.notes, sink);
      }
      return { ...outcome, pathsMerged };
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
    for (const t of this.terminals) t.close();
    await Promise.allSettled([...this.inFlight]);
    await this.locked(async () => {
      // Belt and braces: no session may survive the teardown of its mounts.
      for (const s of this.sessions.values()) s.close();
      const orphans = killBwrapsMentioning(this.dir + '/');
      if (orphans > 0)
        this.ctx.log.warn('killed orphaned sandbox processes', { sandbox: this.spec.id, count: orphans });
      await this.tearDown();
    });
  }

  private refuseIfStopping(): void {
    if (this.stopping) throw failedPrecondition(`sandbox ${this.spec.id} is not running (it is stopping)`);
  }

  /** `privateArgs` reach bwrap through a pipe (--args), `script` through another; `program` is public. */
  private launch(privateArgs: string[], program: string[], script?: string): Launch {
    const run = this.egress ? this.egress.wrap(program) : program;
    return {
      bwrapArgs: [...this.mountArgs, '--args', String(PRIVATE_ARGS_FD), ...run],
      privateArgs,
      script,
      sandboxDir: this.dir,
      identity: this.ctx.identity,
      cgroupProcs: this.cgroupProcs,
    };
  }

  /** The request's environment over the proxy variables (a sandbox with network) and the base. */
  private envArgs(requestEnv: Record<string, string>): string[] {
    return envArgs(this.egress ? { ...proxyEnv(), ...requestEnv } : requestEnv);
  }

  /**
   * A Docker command's environment: the image's (with HOME and TERM as in every sandbox), the
   * proxy variables (a sandbox with network), the request's. Names are checked as for bwrap.
   */
  private containerEnv(requestEnv: Record<string, string>): Record<string, string> {
    commandEnv(requestEnv);
    return { ...this.container!.baseEnv, ...(this.egress ? proxyEnv() : {}), ...requestEnv };
  }

  private hasOpenSessions(): boolean {
    if (this.terminals.size > 0) return true;
    for (const s of this.sessions.values()) if (!s.closed) return true;
    return false;
  }

  private async refreshIfStale(): Promise<void> {
    if (this.activeCommands > 0 || this.hasOpenSessions()) return;
    if (this.ctx.store.snapshot(this.spec.codebaseId).version === this.knownVersion) return;
    this.ctx.log.debug('sandbox refresh', { sandbox: this.spec.id });
    await this.removeContainer();
    await this.layer.tearDown();
    this.view.release();
    this.merger.reset();
    await this.mountCurrentVersion();
  }

  private async mountCurrentVersion(): Promise<void> {
    const snapshot = this.ctx.store.snapshot(this.spec.codebaseId);
    this.view = this.ctx.views.acquire(snapshot, this.spec.rules);
    this.layer = new WritableLayer(this.dir, this.ctx.cowMode, this.ctx.identity, this.view, this.layerDir);
    const layers = await this.layer.setUp();
    this.mountArgs = bwrapMountArgs({
      viewDir: this.view.dir,
      tmpDir: this.tmpDir,
      layers,
      readOnlyBinds: this.view.plan.readOnlyBinds,
      shmBytes: this.ctx.shmBytes,
    });
    if (this.egress) this.mountArgs.push(...this.egress.bindArgs());
    if (this.spec.runtime.kind === 'docker') {
      this.container = await SandboxContainer.start(
        this.ctx.docker,
        {
          sandboxId: this.spec.id,
          serverTag: this.ctx.serverTag,
          image: this.spec.runtime.image,
          viewDir: this.view.dir,
          layers,
          readOnlyBinds: this.view.plan.readOnlyBinds,
          tmpDir: this.tmpDir,
          shmBytes: this.ctx.shmBytes,
          initHostPath: CONTAINER_INIT.path(this.ctx.dataDir),
          user: { uid: this.ctx.identity.uid, gid: this.ctx.identity.gid },
          resources: this.spec.resources,
          egress: this.egress?.containerEgress(),
        },
        this.ctx.launchGate,
      );
    }
    this.knownVersion = snapshot.version;
  }

  private async removeContainer(): Promise<void> {
    const container = this.container;
    this.container = undefined;
    await container
      ?.remove()
      .catch((err) => this.ctx.log.warn('container removal failed', { sandbox: this.spec.id, error: String(err) }));
  }

  /** Merges under the lock: how many paths it wrote or deleted, and the notes on what it refused ('' if nothing). */
  private mergeLocked(): Promise<{ paths: number; notes: string }> {
    return this.locked(() => this.mergeNow());
  }

  private async mergeNow(): Promise<{ paths: number; notes: string }> {
    const before = this.ctx.store.snapshot(this.spec.codebaseId).version;
    const outcome = await this.merger.merge(this.layer);
    // Only our own merge moved the version: the layer still equals the codebase.
    if (outcome.snapshot && before === this.knownVersion) this.knownVersion = outcome.snapshot.version;
    if (outcome.written.length || outcome.deleted.length) {
      this.ctx.log.debug('merged', {
        sandbox: this.spec.id,
        written: outcome.written.length,
        deleted: outcome.deleted.length,
      });
    }
    if (outcome.notes)
      this.ctx.log.info('merge refused paths', { sandbox: this.spec.id, notes: outcome.notes.trimEnd() });
    return { paths: outcome.written.length + outcome.deleted.length, notes: outcome.notes };
  }

  private async tearDown(): Promise<void> {
    // First the container: its binds hold the layer and the proxy socket.
    await this.removeContainer();
    await this.egress
      ?.close()
      .catch((err) => this.ctx.log.warn('egress proxy close failed', { sandbox: this.spec.id, error: String(err) }));
    this.egress = undefined;
    await this.layer
      ?.tearDown()
      .catch((err) => this.ctx.log.warn('layer teardown failed', { sandbox: this.spec.id, error: String(err) }));
    this.view?.release();
    if (this.layerFs) {
      await unmount(this.layerFs).catch((err) =>
        this.ctx.log.warn('layer tmpfs unmount failed', { sandbox: this.spec.id, error: String(err) }),
      );
      this.layerFs = undefined;
    }
    if (this.layerDir !== this.dir) await removeTree(this.layerDir).catch(() => {});
    if (this.cgroupProcs.length > 0) this.ctx.cgroups.remove(this.spec.id);
  }

  /** Layer changes (refresh, merge, teardown) happen one at a time. */
  private locked<T>(fn: () => Promise<T>): Promise<T> {
    return this.layerChanges.run(fn);
  }
}

/** What the merge refused goes to the command's stderr: streamed, or appended to the result. */
/** What a command's merge changed in the codebase, for the client (a trailer). */
export interface MergeCount {
  /** Codebase paths written or deleted; 0: the codebase is as it was. */
  pathsMerged: number;
}

function tellNotes(outcome: { stderr: string }, notes: string, sink?: OutputSink): void {
  if (sink) sink.write('stderr', Buffer.from(notes));
  else outcome.stderr += notes;
}
