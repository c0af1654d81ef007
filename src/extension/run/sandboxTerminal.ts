/**
 * The pseudoterminal of one sandboxed command, shared by "Run Command", "Run Tests" and the
 * `agentfense` task type: prepares the sandbox, streams the output live, reports the exit
 * code, and aborts the command on Ctrl+C or when the terminal is closed.
 */
import * as vscode from 'vscode';
import { CommandTimeoutError, ConnectionError } from '../../client';
import { describeError, offerEnvironmentCheck } from '../server/errorReporting';
import { OutputTail } from '../../core/run/outputTail';
import { CommandStatus } from './commandStatus';
import type { Connection } from '../server/connection';
import type { Ctx } from '../context';
import {
  DIM,
  RESET,
  RED,
  YELLOW,
  formatExitLine,
  shortSandboxId,
  toTerminalNewlines,
  formatLimits,
} from './terminalText';
import { inWorkspace, type WireDenials } from '../../shared/denialWire';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { denialLine, refusedConnectionsLine } from '../../core/agent/agentReport';
import type { RefusedConnectionWire } from '../../shared/connectionRefusals';
import { describeGrant, type AccessGrant } from '../../core/denials/accessGrant';
import { describeRuntime, parseRuntime, runtimeOfLabels, type SandboxRuntime } from '../../shared/sandboxRuntime';
import { NETWORK_ALLOW_LABEL, NETWORK_LABEL, parsePresetNetwork, type PresetNetwork } from '../../shared/networkPolicy';

export interface RunSpec {
  folder: vscode.WorkspaceFolder;
  command: string;
  preset?: string;
  /** Relative to the workspace root (inside the sandbox: /workspace/<cwd>). */
  cwd?: string;
  env?: Record<string, string>;
  timeoutMs?: number;
  /** Tasks close at once (the task system keeps the output); commands wait for a key. */
  closeOnExit: boolean;
  /** Use this sandbox instead of the folder's (from the Sandboxes view). */
  sandboxId?: string;
  codebaseId?: string;
  /** Record the accesses the preset refuses, and say which at the end. */
  audit?: boolean;
  /** Allow once: a sandbox of the preset plus this grant, made for this run and destroyed after it. */
  grant?: AccessGrant;
  /** This run's network instead of the preset's, as a task wrote it (checked when the run starts). */
  network?: unknown;
  /** This run's runtime and image instead of the preset's, as a task wrote them (checked likewise). */
  runtime?: unknown;
  image?: unknown;
}

export interface RunOutcome {
  exitCode: number;
  folder: vscode.WorkspaceFolder;
  codebaseId?: string;
  /** The command's output (its last megabyte), where its problems are found. */
  output: string;
  /** Codebase paths its merge changed, when the server says (0: none). */
  pathsMerged?: number;
  /** The preset and sandbox it ran in (absent when it never got one). */
  preset?: string;
  sandboxId?: string;
  durationMs: number;
  /** Why it did not run or finish, in words (it was interrupted, timed out, failed to start). */
  problem?: string;
  /** What the preset refused, when the run was audited. */
  denials?: WireDenials;
  /** The connections the preset's network refused. */
  refusedConnections?: RefusedConnectionWire[];
}

/** A task's `network`, or an error that says what is wrong with it (never run looser or stricter). */
function taskNetwork(raw: unknown): PresetNetwork {
  try {
    return parsePresetNetwork(raw);
  } catch (e) {
    throw new Error(`the task's "network" cannot be used: ${e instanceof Error ? e.message : String(e)}`);
  }
}

/** A task's `runtime` and `image`, or an error that says what is wrong with them (never run in another runtime). */
function taskRuntime(runtime: unknown, image: unknown): SandboxRuntime | undefined {
  try {
    return parseRuntime(runtime, image);
  } catch (e) {
    throw new Error(`the task's "runtime" cannot be used: ${e instanceof Error ? e.message : String(e)}`);
  }
}

/** " · docker python:3.11-slim" for a Docker sandbox; nothing for bubblewrap. */
function runtimeNote(labels: Readonly<Record<string, string>>): string {
  const runtime = runtimeOfLabels(labels);
  return runtime.kind === 'docker' ? ` · ${describeRuntime(runtime)}` : '';
}

/** " · network allow @npm, @pypi" for a sandbox with network; nothing when it has none. */
function networkNote(labels: Readonly<Record<string, string>>): string {
  const mode = labels[NETWORK_LABEL];
  if (!mode || mode === 'off') return '';
  return ` · network ${mode}${mode === 'allow' ? ` ${(labels[NETWORK_ALLOW_LABEL] ?? '').split(',').join(', ')}` : ''}`;
}

export class SandboxRunTerminal implements vscode.Pseudoterminal {
  private readonly writeEmitter = new vscode.EventEmitter<string>();
  private readonly closeEmitter = new vscode.EventEmitter<number>();
  readonly onDidWrite = this.writeEmitter.event;
  readonly onDidClose = this.closeEmitter.event;
  private readonly abort = new AbortController();
  private state: 'preparing' | 'running' | 'done' | 'closed' = 'preparing';
  private exitCode = 0;
  private readonly output = new OutputTail();
  private pathsMerged: number | undefined;

  constructor(
    private readonly spec: RunSpec,
    private readonly provision: Ctx['provision'],
    /** Where commands go: the server connection, or the cloud backend when one is chosen. */
    private readonly where: Pick<Ctx, 'connection' | 'cloud' | 'cloudProvider'>,
    private readonly onFinished: (outcome: RunOutcome) => void,
  ) {}

  private get connection(): Connection {
    return this.where.connection;
  }

  open(): void {
    void this.run();
  }

  /** The command ended and the terminal only waits for a key. */
  get finished(): boolean {
    return this.state === 'done';
  }

  /** Stops the command as Ctrl+C does (an agent's request was cancelled). */
  interrupt(): void {
    if (this.state === 'running' || this.state === 'preparing') {
      this.write('^C\r\n');
      this.abort.abort(new vscode.CancellationError());
    }
  }

  close(): void {
    // The user closed the terminal: stop the command; the server kills its process tree.
    if (this.state !== 'done') this.abort.abort(new vscode.CancellationError());
    this.state = 'closed';
  }

  handleInput(data: string): void {
    if (this.state === 'done') {
      this.closeEmitter.fire(this.exitCode);
      return;
    }
    if (data.includes('\x03') && (this.state === 'running' || this.state === 'preparing')) {
      this.write('^C\r\n');
      this.abort.abort(new vscode.CancellationError());
    }
    // Other input is ignored: ExecStream has no stdin channel once the command runs.
  }

  /** The server went away mid-run: say what happened, here and in a notification that offers a re-run. */
  private async reportLostServer(): Promise<void> {
    const how = await this.connection.whyLost();
    const what = how
      ? `The embedded AgentFense server stopped (${how}); it is being restarted. Your command was interrupted.`
      : `The connection to the AgentFense server was lost; your command was interrupted.`;
    this.write(`\r\n${RED}AgentFense: ${what}${RESET}\r\n`);
    // Not awaited: the terminal finishes now; the notification waits for the user.
    void vscode.window.showWarningMessage(`AgentFense: ${what}`, 'Run Again', 'Show Server Log').then((choice) => {
      if (choice === 'Run Again') void vscode.commands.executeCommand('agentfense.runCommand', this.spec.command);
      else if (choice === 'Show Server Log') void vscode.commands.executeCommand('agentfense.showServerLog');
    });
  }

  private write(text: string): void {
    if (this.state !== 'closed') this.writeEmitter.fire(text);
  }

  /** The command over gRPC (ExecStream), its exit code and what the server refused. */
  private async runOnServer(
    sandboxId: string,
    preset: string | undefined,
  ): Promise<{ denials?: WireDenials; refusedConnections?: RefusedConnectionWire[] }> {
    const { spec } = this;
    let note: string | undefined;
    const decoders = { stdout: new TextDecoder(), stderr: new TextDecoder() };
    const commandStart = Date.now();
    // Not retried on a lost connection: the command may have had side effects.
    const { stream, status } = await this.connection.call(
      async (c) => {
        // Made once connected: whether the server sends exit codes depends on which it is.
        const status = new CommandStatus(this.connection.serverTrust.sendsStatus, 'command');
        const stream = c.execStream(sandboxId, status.commandFor(spec.command), {
          workdir: spec.cwd ? `/workspace/${spec.cwd}` : undefined,
          env: spec.env,
          timeoutMs: spec.timeoutMs,
          signal: this.abort.signal,
          audit: spec.audit,
        });
        return { stream, status };
      },
      { idempotent: false },
    );
    for await (const chunk of stream) {
      let text = decoders[chunk.stream].decode(chunk.data, { stream: true });
      if (chunk.stream === 'stderr') text = status.stderr(text);
      if (text) {
        this.output.add(text);
        this.write(toTerminalNewlines(text));
      }
    }
    const { rest, end } = status.end(stream);
    this.connection.serverTrust.learnFrom(stream);
    const tail = rest + decoders.stdout.decode() + decoders.stderr.decode();
    if (tail) {
      this.output.add(tail);
      this.write(toTerminalNewlines(tail));
    }
    this.exitCode = end.exitCode ?? 0;
    this.pathsMerged = stream.pathsMerged;
    const denials = stream.denials && inWorkspace(stream.denials, (p) => existsSync(join(spec.folder.uri.fsPath, p)));
    const refusedConnections = stream.refusedConnections;
    if (refusedConnections?.length)
      this.write(`\r\n${YELLOW}${toTerminalNewlines(refusedConnectionsLine(refusedConnections))}${RESET}`);
    if (denials && denials.denials.length > 0)
      this.write(
        `\r\n${YELLOW}${toTerminalNewlines(denialLine(denials, preset))} — the Denials view can allow them${RESET}`,
      );
    if (end.exitCode === undefined) note = 'exit status unknown';
    this.write(`\r\n${formatExitLine(this.exitCode, Date.now() - commandStart, note)}\r\n`);
    return { denials, refusedConnections };
  }

  /** The command through the cloud backend; what went wrong, in words, when it timed out. */
  private async runInCloud(cloud: NonNullable<Ctx['cloud']>, sandboxId: string): Promise<string | undefined> {
    const { spec } = this;
    const r = await cloud.exec(sandboxId, spec.command, {
      cwd: spec.cwd,
      env: spec.env,
      timeoutMs: spec.timeoutMs,
      signal: this.abort.signal,
      audit: spec.audit,
      onOutput: (_stream, text) => {
        this.output.add(text);
        this.write(toTerminalNewlines(text));
      },
    });
    this.exitCode = r.exitCode;
    this.pathsMerged = r.pathsMerged;
    const problem = r.timedOut ? `timed out after ${Math.round((spec.timeoutMs ?? 0) / 1000)} s` : undefined;
    this.write(`\r\n${formatExitLine(this.exitCode, r.durationMs, problem)}\r\n`);
    return problem;
  }

  private async run(): Promise<void> {
    const started = Date.now();
    const { spec } = this;
    let codebaseId = spec.codebaseId;
    let preset: string | undefined;
    let sandboxIdUsed = spec.sandboxId;
    let problem: string | undefined;
    let denials: WireDenials | undefined;
    let refusedConnections: RefusedConnectionWire[] | undefined;
    try {
      let sandboxId = spec.sandboxId;
      if (!sandboxId) {
        const target = await this.provision(spec.folder, spec.preset, {
          signal: this.abort.signal,
          report: (m) => this.write(`${DIM}AgentFense: ${m}${RESET}\r\n`),
          grant: spec.grant,
          ...(spec.network === undefined ? {} : { network: taskNetwork(spec.network) }),
          runtime: taskRuntime(spec.runtime, spec.image),
        });
        sandboxId = target.sandbox.id;
        codebaseId = target.codebaseId;
        preset = target.preset;
        sandboxIdUsed = sandboxId;
        this.write(
          `${DIM}[${target.preset}${spec.grant ? ` + ${describeGrant(spec.grant)} once` : ''} · sandbox ${shortSandboxId(sandboxId)} · ${this.where.cloud ? '~/workspace' : '/workspace'}${spec.cwd ? '/' + spec.cwd : ''} · ${'resources' in target.sandbox ? formatLimits(target.sandbox.resources) : this.where.cloudProvider}${runtimeNote(target.sandbox.labels)}${networkNote(target.sandbox.labels)}]${RESET}\r\n`,
        );
      }
      this.write(`${DIM}$ ${spec.command}${RESET}\r\n`);
      this.abort.signal.throwIfAborted();
      this.state = 'running';
      if (this.where.cloud) problem = await this.runInCloud(this.where.cloud, sandboxId);
      else ({ denials, refusedConnections } = await this.runOnServer(sandboxId, preset));
    } catch (e) {
      problem = this.abort.signal.aborted ? 'interrupted' : describeError(e);
      if (this.abort.signal.aborted) {
        this.exitCode = 130;
        this.write(`\r\n${formatExitLine(130, Date.now() - started, 'interrupted')}\r\n`);
      } else if (e instanceof CommandTimeoutError) {
        problem = `timed out after ${Math.round((spec.timeoutMs ?? 0) / 1000)} s`;
        this.exitCode = 124;
        this.write(
          `\r\n${formatExitLine(124, Date.now() - started, `timed out after ${Math.round((spec.timeoutMs ?? 0) / 1000)} s`)}\r\n`,
        );
      } else if (e instanceof ConnectionError) {
        this.exitCode = 1;
        await this.reportLostServer();
      } else {
        this.exitCode = 1;
        this.write(`\r\n${RED}AgentFense: ${toTerminalNewlines(describeError(e))}${RESET}\r\n`);
        void offerEnvironmentCheck(e);
      }
    }
    const outcome = {
      exitCode: this.exitCode,
      folder: spec.folder,
      codebaseId,
      output: this.output.text,
      pathsMerged: this.pathsMerged,
      preset,
      sandboxId: sandboxIdUsed,
      durationMs: Date.now() - started,
      problem,
      denials,
      refusedConnections,
    };
    if (this.state === 'closed') {
      this.onFinished(outcome);
      return;
    }
    this.state = 'done';
    this.onFinished(outcome);
    if (spec.closeOnExit) this.closeEmitter.fire(this.exitCode);
    else this.write(`${DIM}Press any key to close the terminal.${RESET}`);
  }
}
