/**
 * The one connection to an AgentFense server: the embedded one (started on first use) or the
 * remote `agentfense.endpoint`. Every server call of the extension goes through `call()`,
 * which connects lazily and, when the server went away, reconnects (restarting the embedded
 * server) and retries idempotent work once.
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import { ConnectionError, SandboxClient } from '../../client';
import type { Config } from '../config';
import { EmbeddedServer, describeLogLine, UnsupportedPlatformError } from '../../client/embedded/serverLifecycle';
import { ServerTrust } from './serverTrust';

export type ConnectionState = 'idle' | 'connecting' | 'connected' | 'failed' | 'unsupported';

export const TOKEN_SECRET_KEY = 'agentfense.serverToken';

export class Connection implements vscode.Disposable {
  private client: SandboxClient | undefined;
  private connecting: Promise<SandboxClient> | undefined;
  private embedded: EmbeddedServer | undefined;
  private _state: ConnectionState = 'idle';
  private _lastError: string | undefined;
  private trust = new ServerTrust(false);
  private readonly stateEmitter = new vscode.EventEmitter<ConnectionState>();
  readonly onDidChangeState = this.stateEmitter.event;
  /** The embedded server's last stop of its own: how, and when (ms). */
  private lastStop: { how: string; at: number } | undefined;
  private readonly stopEmitter = new vscode.EventEmitter<string>();

  constructor(
    private readonly extension: vscode.ExtensionContext,
    private readonly config: Config,
    private readonly log: vscode.LogOutputChannel,
    private readonly serverLog: vscode.LogOutputChannel,
  ) {
    void vscode.commands.executeCommand('setContext', 'agentfense.state', 'idle');
  }

  get state(): ConnectionState {
    return this._state;
  }

  get lastError(): string | undefined {
    return this._lastError;
  }

  get isEmbedded(): boolean {
    return this.config.endpoint === '';
  }

  /** Whether the connected server's streams end with an exit code to trust (serverTrust.ts). */
  get serverTrust(): ServerTrust {
    return this.trust;
  }

  /** dist/server.js of the embedded server (or agentfense.server.path). */
  get serverScript(): string {
    return this.config.serverPath || path.join(this.extension.extensionPath, 'dist', 'server.js');
  }

  get serverLogFile(): string | undefined {
    return this.embedded?.logFile;
  }

  private setState(state: ConnectionState, error?: string): void {
    this._lastError = error;
    if (state === this._state) return;
    this._state = state;
    void vscode.commands.executeCommand('setContext', 'agentfense.state', state);
    void vscode.commands.executeCommand('setContext', 'agentfense.connected', state === 'connected');
    this.stateEmitter.fire(state);
  }

  /** The connected client; connects (and starts the embedded server) on first use. */
  getClient(): Promise<SandboxClient> {
    if (this.client) return Promise.resolve(this.client);
    this.connecting ??= this.connect().finally(() => {
      this.connecting = undefined;
    });
    return this.connecting;
  }

  private async connect(): Promise<SandboxClient> {
    this.setState('connecting');
    try {
      let client: SandboxClient;
      if (this.isEmbedded) {
        const server = this.embeddedServer();
        await server.ensureRunning();
        client = new SandboxClient({ endpoint: server.endpoint });
      } else {
        const token = await this.extension.secrets.get(TOKEN_SECRET_KEY);
        client = new SandboxClient({
          endpoint: this.config.endpoint,
          secure: this.config.tls,
          token: token || undefined,
        });
      }
      // A cheap call proves the endpoint answers (and that the token is accepted).
      await client.listCodebases({ pageSize: 1 }, { deadlineMs: 10_000 });
      this.client = client;
      this.trust = new ServerTrust(this.isEmbedded);
      this.log.info(`Connected to ${client.endpoint}`);
      this.setState('connected');
      return client;
    } catch (e) {
      const message = (e as Error).message;
      this.log.error(`Connection failed: ${message}`);
      this.setState(e instanceof UnsupportedPlatformError ? 'unsupported' : 'failed', message);
      throw e;
    }
  }

  private embeddedServer(): EmbeddedServer {
    if (!this.embedded) {
      const storageDir = this.extension.globalStorageUri.fsPath;
      const serverScript = this.serverScript;
      this.embedded = new EmbeddedServer({
        storageDir,
        serverScript,
        nodePath: process.execPath,
        // In VS Code process.execPath is Electron: this makes it behave as plain Node.
        env: { ELECTRON_RUN_AS_NODE: '1' },
        log: {
          serverLine: (line) => {
            const { level, message } = describeLogLine(line);
            if (level === 'error' || level === 'fatal') this.serverLog.error(message);
            else if (level === 'warn' || level === 'warning') this.serverLog.warn(message);
            else if (level === 'debug') this.serverLog.debug(message);
            else this.serverLog.info(message);
          },
          info: (m) => this.serverLog.info(`[extension] ${m}`),
          error: (m) => this.serverLog.error(`[extension] ${m}`),
        },
      });
      this.embedded.onFatal = (message) => {
        this.dropClient();
        this.setState('failed', message);
      };
      // Never "connected" while the server is dead: the status bar says it is restarting.
      this.embedded.onStopped = (how) => {
        this.lastStop = { how, at: Date.now() };
        this.dropClient();
        this.setState('connecting', `The embedded server ${how}; restarting it.`);
        this.stopEmitter.fire(how);
      };
      this.embedded.onRestarted = () => void this.getClient().catch(() => undefined);
    }
    return this.embedded;
  }

  /**
   * Runs `fn` with a connected client. When the server is unreachable, reconnects once (which
   * restarts the embedded server) and, for idempotent work, runs `fn` again.
   */
  async call<T>(fn: (client: SandboxClient) => Promise<T>, { idempotent = true } = {}): Promise<T> {
    const client = await this.getClient();
    try {
      return await fn(client);
    } catch (e) {
      if (!(e instanceof ConnectionError)) throw e;
      this.log.warn(`Lost the AgentFense server (${e.message}); reconnecting.`);
      this.dropClient();
      this.setState('idle');
      const again = await this.getClient();
      if (!idempotent) throw e;
      return fn(again);
    }
  }

  /**
   * Why a call just lost the server, when it is the embedded one that stopped ("killed by
   * SIGKILL"): the stream's error can arrive before the process's exit is seen, so this waits
   * for that a moment. Undefined when the server did not stop (a remote one, a network error).
   */
  async whyLost(waitMs = 2_000): Promise<string | undefined> {
    const recent = () => (this.lastStop && Date.now() - this.lastStop.at < 60_000 ? this.lastStop.how : undefined);
    if (!this.isEmbedded || recent()) return recent();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        sub.dispose();
        resolve(undefined);
      }, waitMs);
      const sub = this.stopEmitter.event((how) => {
        clearTimeout(timer);
        sub.dispose();
        resolve(how);
      });
    });
  }

  /** Forget the client (endpoint or token changed); the next call reconnects. */
  reset(): void {
    this.dropClient();
    this.embedded?.dispose();
    this.embedded = undefined;
    this.setState('idle');
  }

  async restartServer(): Promise<void> {
    this.dropClient();
    if (this.embedded) await this.embedded.stop();
    this.embedded?.dispose();
    this.embedded = undefined;
    this.setState('idle');
    await this.getClient();
  }

  private dropClient(): void {
    try {
      this.client?.close();
    } catch {
      // already closed
    }
    this.client = undefined;
  }

  dispose(): void {
    this.dropClient();
    this.embedded?.dispose();
    this.stateEmitter.dispose();
    this.stopEmitter.dispose();
  }
}
