/**
 * What an agent may do with one workspace folder, whoever asks (VS Code's language-model
 * tools, the MCP server): run a command in the folder's sandbox under a preset, list the
 * sandbox's changes that wait for review, read a file as the sandbox sees it. Every write
 * lands in the codebase, never in the folder: accepting stays the user's act in the review.
 */
import { shellQuote } from '../../shared/shellQuote';
import { existsSync } from 'node:fs';
import { join, posix } from 'node:path';
import { inWorkspace } from '../../shared/denialWire';
import type { RunResult, SandboxBackend, SandboxSummary } from '../backend';
import type { Change } from '../review/changeComputation';
import { refreshChanges } from '../review/changeSet';
import type { BaselineStore } from '../review/reviewBaseline';
import type { SandboxProvisioner, SandboxTarget } from '../run/sandboxProvisioner';
import type { WorkspaceRoot } from '../workspaceRoot';
import type { AccessGrant } from '../denials/accessGrant';

export interface AgentWorkspaceOptions<S extends SandboxSummary> {
  backend: SandboxBackend<S>;
  provisioner: SandboxProvisioner<S>;
  baselines: BaselineStore;
  root: WorkspaceRoot;
  /** The preset a run uses when the agent names none (read at each run). */
  activePreset: () => string;
  /** Extra ignore patterns of the review (the user's `agentfense.ignore`). */
  ignore: () => readonly string[];
}

export interface AgentRunRequest {
  command: string;
  preset?: string;
  timeoutMs?: number;
  /** Relative to /workspace (or absolute under it). */
  cwd?: string;
  signal?: AbortSignal;
  /** Steps before the command starts (sync, sandbox start), for progress reports. */
  onStep?: (message: string) => void;
  /** Record the accesses the preset refused, to tell the agent which and by which rule. */
  audit?: boolean;
  /** Allow once: run in a sandbox of the preset plus this grant, destroyed after the run. */
  grant?: AccessGrant;
}

export interface AgentRunOutcome extends RunResult {
  preset: string;
  sandboxId: string;
  /** stdout holds both streams, interleaved as printed (a run shown in a terminal). */
  combinedOutput?: boolean;
  /** Why the command did not finish on its own (interrupted, timed out), in words. */
  problem?: string;
  /** Every change waiting for review after the run. */
  pending: readonly Change[];
  /** The paths among them this run added or changed. */
  changedByRun: readonly string[];
}

export class AgentWorkspace<S extends SandboxSummary = SandboxSummary> {
  constructor(private readonly o: AgentWorkspaceOptions<S>) {}

  get root(): WorkspaceRoot {
    return this.o.root;
  }

  async run(req: AgentRunRequest): Promise<AgentRunOutcome> {
    const preset = req.preset || this.o.activePreset();
    const cwd = req.cwd === undefined ? undefined : workspaceRelative(req.cwd);
    const request = { cwd, timeoutMs: req.timeoutMs, signal: req.signal, audit: req.audit };
    let ran: { target: SandboxTarget<S>; result: RunResult } | undefined;
    // Read right after each sync: the change set of the last refresh, by whichever process.
    const changesNow = () => this.o.baselines.of(this.o.root).changes;
    let before: readonly Change[] = [];
    // The fast path an agent's run after run takes: the sandbox handed out last time, with no
    // lookup (the sync still runs first). Gone since? Nothing ran: look it up and run.
    const last = req.grant ? undefined : this.o.provisioner.lastHandedOut(this.o.root, preset);
    if (last) {
      await this.o.provisioner.syncOnly(this.o.root, preset, { signal: req.signal, codebaseKnown: true });
      before = changesNow();
      try {
        ran = { target: last, result: await this.o.backend.exec(last.sandbox.id, req.command, request) };
      } catch (e) {
        if (!this.o.backend.isSandboxGone(e)) throw e;
        this.o.provisioner.forget(this.o.root, preset);
      }
    }
    if (!ran) {
      const target = await this.o.provisioner.ensureSandbox(this.o.root, preset, {
        signal: req.signal,
        report: req.onStep,
        grant: req.grant,
      });
      before = changesNow();
      try {
        ran = { target, result: await this.o.backend.exec(target.sandbox.id, req.command, request) };
      } finally {
        // Once means once: the run's changes are merged into the codebase by now.
        if (req.grant) await this.o.backend.destroySandbox(target.sandbox.id).catch(() => undefined);
      }
    }
    const { target, result } = ran;
    // A merge that changed nothing (the backend says 0) leaves the change set as it was.
    const pending = result.pathsMerged === 0 ? before : await this.pendingChanges(req.signal);
    const denials = result.denials && inWorkspace(result.denials, (p) => existsSync(join(this.o.root.path, p)));
    return {
      ...result,
      denials,
      preset,
      sandboxId: target.sandbox.id,
      pending,
      changedByRun: changedPaths(before, pending),
    };
  }

  /** The sandbox's changes not yet accepted or discarded (one listing; few downloads). */
  pendingChanges(signal?: AbortSignal): Promise<readonly Change[]> {
    return refreshChanges(this.o.backend, this.o.baselines.of(this.o.root), {
      ignore: this.o.ignore(),
      showIgnored: false,
      signal,
    });
  }

  /**
   * A file's bytes as a command in the preset's sandbox reads them: the kernel applies the
   * preset (a hidden file is absent, a `view` file unreadable), not this code.
   */
  async readFile(path: string, options: { preset?: string; signal?: AbortSignal } = {}): Promise<RunResult> {
    const rel = workspaceRelative(path);
    const preset = options.preset || this.o.activePreset();
    const target = await this.o.provisioner.ensureSandbox(this.o.root, preset, { signal: options.signal });
    return this.o.backend.exec(target.sandbox.id, `cat -- ${shellQuote(rel || '.')}`, { signal: options.signal });
  }
}

/** `src/a.ts`, `/workspace/src/a.ts` → `src/a.ts`; a path outside /workspace is refused. */
export function workspaceRelative(path: string): string {
  const resolved = posix.resolve('/workspace', path);
  if (resolved === '/workspace') return '';
  if (!resolved.startsWith('/workspace/')) throw new RangeError(`${JSON.stringify(path)} is outside /workspace`);
  return resolved.slice('/workspace/'.length);
}

function signature(c: Change): string {
  return `${c.kind}:${c.size}:${c.remoteMtimeMs ?? ''}:${c.sha256 ?? ''}`;
}

/** The paths of `after` that are new or different since `before`: what one run changed. */
export function changedPaths(before: readonly Change[], after: readonly Change[]): string[] {
  const was = new Map(before.map((c) => [c.path, signature(c)]));
  return after.filter((c) => was.get(c.path) !== signature(c)).map((c) => c.path);
}
