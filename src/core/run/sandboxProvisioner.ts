/**
 * One sandbox per (folder, preset, network, runtime): found again by its labels, started if stopped,
 * created if missing. Commands, tasks, tests, terminals and agents all get their sandbox here.
 */
import {
  NETWORK_ALLOW_LABEL,
  NETWORK_DENY_LABEL,
  NETWORK_LABEL,
  presetNetworkLabels,
  type PresetNetwork,
} from '../../shared/networkPolicy';
import { IMAGE_LABEL, runtimeLabels, type SandboxRuntime } from '../../shared/sandboxRuntime';
import { grantedFiles, withGrant, type AccessGrant } from '../denials/accessGrant';
import type { NormalizedRule } from '../../shared/permissions';
import type { SandboxBackend, SandboxSummary } from '../backend';
import { Emitter } from '../events';
import type { WorkspaceSync } from '../sync/workspaceSync';
import type { WorkspaceRoot } from '../workspaceRoot';

export const LABEL_PRESET = 'agentfense.preset';
export const LABEL_FOLDER = 'agentfense.folder';
export const LABEL_CLIENT = 'agentfense.client';
/** What a sandbox was made to run with, beyond its rules (network and runtime labels), as one comparable string. */
function environmentKey(labels: Readonly<Record<string, string>>): string {
  return [NETWORK_LABEL, NETWORK_ALLOW_LABEL, NETWORK_DENY_LABEL, IMAGE_LABEL].map((l) => labels[l] ?? '').join('\0');
}
/** On a sandbox made for one run with a grant (Allow once): what it grants. */
export const LABEL_GRANT = 'agentfense.grant';

export interface SandboxTarget<S extends SandboxSummary = SandboxSummary> {
  sandbox: S;
  codebaseId: string;
  root: WorkspaceRoot;
  preset: string;
}

export interface ProvisionerOptions {
  /** Which client's sandboxes these are (label `agentfense.client`): `vscode`, `mcp`. */
  client: string;
  /** A preset's rules; throws on an unknown preset (before anything is uploaded). */
  rulesOf: (preset: string) => readonly NormalizedRule[];
  /** What a preset's sandboxes may reach (read at each call: a preset or a setting may change). */
  networkOf: (preset: string) => PresetNetwork;
  /** What runs a preset's sandboxes (bubblewrap unless the preset names Docker and an image). */
  runtimeOf: (preset: string) => SandboxRuntime;
}

export interface EnsureOptions {
  signal?: AbortSignal;
  /** Steps before the sandbox runs (sync, start), in words. */
  report?: (message: string) => void;
  /** Allow once: the preset's rules plus this grant. */
  grant?: AccessGrant;
  /** This run's network instead of the preset's (a task's `network`). */
  network?: PresetNetwork;
  /** This run's runtime instead of the preset's (a task's `runtime` and `image`). */
  runtime?: SandboxRuntime;
}

export class SandboxProvisioner<S extends SandboxSummary = SandboxSummary> {
  private readonly changed = new Emitter<void>();
  /** The last sandbox handed out per folder and preset, with what it was made for. */
  private readonly handedOut = new Map<string, { target: SandboxTarget<S>; rules: string; network: string }>();
  /** Fires when sandboxes were created, started, stopped or destroyed. */
  readonly onDidChange = this.changed.event;

  constructor(
    private readonly backend: SandboxBackend<S>,
    private readonly sync: WorkspaceSync,
    private readonly options: ProvisionerOptions,
  ) {}

  /** Something outside (a view's Stop, a session) changed sandboxes: tell the listeners. */
  fireChanged(): void {
    this.changed.fire();
  }

  /**
   * Uploads what changed, then returns a running sandbox for the folder and preset. With a
   * `grant` (Allow once), a sandbox of the preset's rules plus the grant, which no run without
   * that grant is given; the caller destroys it after its run.
   */
  async ensureSandbox(root: WorkspaceRoot, preset: string, options: EnsureOptions = {}): Promise<SandboxTarget<S>> {
    // Validate the preset before any upload: a typo should fail fast and say so.
    const rules = withGrant(this.options.rulesOf(preset), options.grant);
    options.report?.('checking the workspace…');
    const { index } = await this.sync.sync(root, { signal: options.signal, include: grantedFiles(rules) });
    const codebaseId = index.codebaseId;
    const runtime = options.runtime ?? this.options.runtimeOf(preset);
    const environmentLabels = {
      ...presetNetworkLabels(options.network ?? this.options.networkOf(preset)),
      ...runtimeLabels(runtime),
    };
    const network = environmentKey(environmentLabels);
    const mine = (await this.backend.listSandboxes(codebaseId)).filter(
      (s) =>
        this.isOurs(s) &&
        s.labels[LABEL_PRESET] === preset &&
        environmentKey(s.labels) === network &&
        s.status !== 'error' &&
        sameRules(s.permissions, rules),
    );
    // A granted sandbox is not the folder's sandbox for the preset: never handed out without its grant.
    const remember = (target: SandboxTarget<S>) =>
      options.grant || options.network || options.runtime ? target : this.remember(target, rules, network);
    const running = mine.find((s) => s.status === 'running');
    if (running) return remember({ sandbox: running, codebaseId, root, preset });
    const startable = mine.find((s) => s.status === 'stopped' || s.status === 'pending');
    if (startable) {
      options.report?.(`starting sandbox ${startable.id}…`);
      const sandbox = await this.backend.startSandbox(startable.id);
      if (sandbox) {
        this.changed.fire();
        return remember({ sandbox, codebaseId, root, preset });
      }
      // Gone meanwhile (destroyed, expired): make a new one.
    }
    options.report?.(`creating a ${preset} sandbox…`);
    const labels: Record<string, string> = {
      [LABEL_PRESET]: preset,
      [LABEL_FOLDER]: root.name,
      [LABEL_CLIENT]: this.options.client,
    };
    Object.assign(labels, environmentLabels);
    if (options.grant) labels[LABEL_GRANT] = `${options.grant.rule.permission} ${options.grant.rule.pattern}`;
    const created = await this.backend.createSandbox(codebaseId, { permissions: rules, labels, runtime });
    const sandbox = await this.backend.startSandbox(created.id);
    if (!sandbox) throw new Error(`Sandbox ${created.id} disappeared right after it was created.`);
    this.changed.fire();
    return remember({ sandbox, codebaseId, root, preset });
  }

  /**
   * The sandbox this provisioner last handed out for the folder and preset, if the preset's
   * rules and the network setting are still what it was made with; no call is made, so it may
   * have stopped since: a caller that gets `isSandboxGone` from it calls `forget` and
   * `ensureSandbox`. (An agent's run: the sync still runs first, the lookup is what it saves.)
   */
  lastHandedOut(root: WorkspaceRoot, preset: string): SandboxTarget<S> | undefined {
    const last = this.handedOut.get(`${root.path}\0${preset}`);
    if (!last) return undefined;
    const network = environmentKey({
      ...presetNetworkLabels(this.options.networkOf(preset)),
      ...runtimeLabels(this.options.runtimeOf(preset)),
    });
    if (last.network !== network || last.rules !== rulesKey(this.options.rulesOf(preset))) return undefined;
    return last.target;
  }

  /** The sync ensureSandbox starts with, alone (see lastHandedOut). */
  syncOnly(
    root: WorkspaceRoot,
    preset: string,
    options: { signal?: AbortSignal; codebaseKnown?: boolean },
  ): Promise<unknown> {
    return this.sync.sync(root, { ...options, include: grantedFiles(this.options.rulesOf(preset)) });
  }

  forget(root: WorkspaceRoot, preset: string): void {
    this.handedOut.delete(`${root.path}\0${preset}`);
  }

  private remember(target: SandboxTarget<S>, rules: readonly NormalizedRule[], network: string): SandboxTarget<S> {
    this.handedOut.set(`${target.root.path}\0${target.preset}`, { target, rules: rulesKey(rules), network });
    return target;
  }

  /**
   * Switching the preset switches the folder's sandbox: stops this client's running sandboxes of
   * the codebase made for another preset, except one with an open session. Returns how many.
   */
  async stopOtherPresets(codebaseId: string, preset: string): Promise<number> {
    let stopped = 0;
    for (const s of await this.backend.listSandboxes(codebaseId)) {
      const other = s.status === 'running' && this.isOurs(s) && (s.labels[LABEL_PRESET] ?? preset) !== preset;
      if (!other || (await this.backend.hasActiveSession(s.id))) continue;
      await this.backend.stopSandbox(s.id);
      stopped++;
    }
    if (stopped > 0) this.changed.fire();
    return stopped;
  }

  private isOurs(s: SandboxSummary): boolean {
    return s.labels[LABEL_CLIENT] === this.options.client;
  }

  dispose(): void {
    this.changed.dispose();
  }
}

const ruleKey = (r: NormalizedRule) => `${r.priority}|${r.type}|${r.permission}|${r.pattern}`;

function rulesKey(rules: readonly NormalizedRule[]): string {
  return rules.map(ruleKey).sort().join('\n');
}

/** A user preset edited since the sandbox was made must not silently keep the old rules. */
function sameRules(stored: readonly NormalizedRule[], wanted: readonly NormalizedRule[]): boolean {
  return stored.length === wanted.length && rulesKey(stored) === rulesKey(wanted);
}
