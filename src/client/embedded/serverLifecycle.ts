/**
 * The embedded server: one per user, shared by every VS Code window. It runs detached on a
 * private Unix socket so it outlives the window that started it; its stderr goes to a log
 * file in the data dir that every window tails into its "AgentFense Server" output channel.
 * vscode-free: the extension passes paths and a log sink.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, closeSync, mkdirSync, openSync, renameSync, statSync } from 'node:fs';
import { open, unlink } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { acquireLock } from './serverLock';
import { privateTempDir } from './privateTempDir';
import { checkEmbeddedServerSupport } from './platformSupport';

export interface ServerLogSink {
  /** One line the server wrote (JSON or not). */
  serverLine(line: string): void;
  info(message: string): void;
  error(message: string): void;
}

export interface EmbeddedServerOptions {
  /** The extension's global storage folder (private to the user). */
  storageDir: string;
  /** dist/server.js */
  serverScript: string;
  /** The Node to run it with: the extension host's own (`process.execPath`). */
  nodePath: string;
  log: ServerLogSink;
  /** Extra env (e.g. ELECTRON_RUN_AS_NODE=1 in VS Code). */
  env?: Record<string, string>;
}

/** Bubblewrap missing / not Linux: a condition for the user to fix, not a bug. */
export class UnsupportedPlatformError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UnsupportedPlatformError';
  }
}

export class ServerStartError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ServerStartError';
  }
}

/** Linux caps a socket path at 108 bytes; long storage paths use a private folder in /tmp. */
const MAX_SOCKET_PATH = 100;
const LOG_ROTATE_BYTES = 5 * 1024 * 1024;
const READY_TIMEOUT_MS = 20_000;
const RESTART_WINDOW_MS = 5 * 60_000;
const MAX_RESTARTS = 3;

export function socketPathFor(storageDir: string): string {
  const direct = join(storageDir, 'server.sock');
  if (Buffer.byteLength(direct) <= MAX_SOCKET_PATH) return direct;
  const uid = process.getuid?.() ?? 0;
  const tag = createHash('sha256').update(storageDir).digest('hex').slice(0, 10);
  return join(privateTempDir(join(tmpdir(), `agentfense-${uid}-${tag}`), 0o700), 'server.sock');
}

/**
 * `<storageDir>/data`: the user's own private folder (the server keeps it 0700). Only a
 * server running as root needs more: it drops to an unprivileged sandbox user that must
 * reach the data dir, so every folder above it needs o+x; when a home directory is 0700,
 * root's data lives in a root-owned 0711 folder under the system temp dir instead (the
 * server keeps the data dir itself root:<sandbox group> 0710).
 */
export function dataDirFor(storageDir: string): string {
  if ((process.getuid?.() ?? 0) !== 0) return join(storageDir, 'data');
  const ancestorsSearchable = (dir: string): boolean => {
    for (let d = dirname(dir); ; d = dirname(d)) {
      try {
        if ((statSync(d).mode & 0o001) === 0) return false;
      } catch {
        return false;
      }
      if (d === dirname(d)) return true;
    }
  };
  if (!ancestorsSearchable(storageDir)) {
    const tag = createHash('sha256').update(storageDir).digest('hex').slice(0, 10);
    return join(privateTempDir(join(tmpdir(), `agentfense-data-0-${tag}`), 0o711), 'data');
  }
  mkdirSync(storageDir, { recursive: true, mode: 0o711 });
  chmodSync(storageDir, 0o711);
  return join(storageDir, 'data');
}

export function canConnect(socketPath: string, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connect({ path: socketPath });
    const done = (ok: boolean) => {
      clearTimeout(timer);
      sock.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    sock.once('connect', () => done(true));
    sock.once('error', () => done(false));
  });
}

export class EmbeddedServer {
  readonly socketPath: string;
  readonly dataDir: string;
  readonly logFile: string;
  private readonly lockFile: string;
  private child: ChildProcess | undefined;
  private tail: LogTail | undefined;
  private restarts: number[] = [];
  private disposed = false;
  private starting: Promise<void> | undefined;
  /** Called when a server we started died and we could not bring it back. */
  onFatal: ((message: string) => void) | undefined;
  /** Called when a server we started stopped on its own (`how`: "killed by SIGKILL"), before a restart. */
  onStopped: ((how: string) => void) | undefined;
  /** Called when the restart after such a stop answers again. */
  onRestarted: (() => void) | undefined;

  constructor(private readonly options: EmbeddedServerOptions) {
    mkdirSync(options.storageDir, { recursive: true, mode: 0o700 });
    this.dataDir = dataDirFor(options.storageDir);
    this.logFile = join(options.storageDir, 'server.log');
    this.lockFile = join(options.storageDir, 'server.lock');
    this.socketPath = socketPathFor(options.storageDir);
  }

  get endpoint(): string {
    return `unix:${this.socketPath}`;
  }

  /** Whether this window started the running server (else it attached to another's). */
  get ownsServer(): boolean {
    return this.child !== undefined && this.child.exitCode === null;
  }

  /** Makes sure a server answers on the socket: attach to a running one, or start one. */
  ensureRunning(): Promise<void> {
    this.starting ??= this.doEnsureRunning().finally(() => {
      this.starting = undefined;
    });
    return this.starting;
  }

  private async doEnsureRunning(): Promise<void> {
    if (await canConnect(this.socketPath)) {
      this.startTail(false);
      return;
    }
    const support = await checkEmbeddedServerSupport();
    if (!support.ok) throw new UnsupportedPlatformError(support.reason);

    const lock = await acquireLock(this.lockFile, {
      staleMs: READY_TIMEOUT_MS * 2,
      timeoutMs: READY_TIMEOUT_MS + 5000,
      shouldStopWaiting: () => canConnect(this.socketPath),
    });
    if (!lock.acquired) {
      if (await canConnect(this.socketPath)) {
        this.options.log.info('Another window started the AgentFense server; attaching to it.');
        this.startTail(false);
        return;
      }
      throw new ServerStartError('Timed out waiting for another VS Code window to start the AgentFense server.');
    }
    try {
      // Someone may have finished starting it between our check and taking the lock.
      if (await canConnect(this.socketPath)) {
        this.startTail(false);
        return;
      }
      await this.spawnServer();
    } finally {
      await lock.release();
    }
  }

  private async spawnServer(): Promise<void> {
    mkdirSync(this.dataDir, { recursive: true, mode: 0o711 });
    // A socket file nobody answers on is left from a crash; the server cannot bind over it.
    await unlink(this.socketPath).catch(() => undefined);
    rotateLog(this.logFile);
    const startOffset = fileSize(this.logFile);
    const fd = openSync(this.logFile, 'a', 0o600);
    this.options.log.info(`Starting the embedded AgentFense server on ${this.socketPath}`);
    let child: ChildProcess;
    try {
      child = spawn(
        this.options.nodePath,
        [this.options.serverScript, '--listen', this.endpoint, '--data-dir', this.dataDir],
        {
          detached: true, // its own process group: it outlives this window
          stdio: ['ignore', fd, fd],
          env: { ...process.env, ...this.options.env },
        },
      );
    } finally {
      closeSync(fd);
    }
    child.unref();
    this.child = child;
    this.tail?.dispose();
    this.tail = new LogTail(this.logFile, startOffset, (line) => this.options.log.serverLine(line));

    let exited: string | undefined;
    const onEarlyExit = (code: number | null, signal: NodeJS.Signals | null) => {
      exited = signal ? `was killed by ${signal}` : `exited with code ${code}`;
    };
    child.once('exit', onEarlyExit);
    child.once('error', (e) => {
      exited = `could not be started: ${e.message}`;
    });

    const deadline = Date.now() + READY_TIMEOUT_MS;
    while (Date.now() < deadline) {
      if (exited) break;
      if (await canConnect(this.socketPath, 500)) {
        child.off('exit', onEarlyExit);
        child.once('exit', (code, signal) => this.onServerExit(child, code, signal));
        this.options.log.info(`AgentFense server is ready (pid ${child.pid}).`);
        return;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    await this.tail.flush();
    const why = await lastErrorLine(this.logFile, startOffset);
    if (!exited) child.kill('SIGTERM');
    this.child = undefined;
    const message = `The AgentFense server ${exited ?? `did not start within ${READY_TIMEOUT_MS / 1000} s`}${why ? `: ${why}` : ''}`;
    if (/bubblewrap|bwrap/i.test(why ?? '')) throw new UnsupportedPlatformError(message);
    throw new ServerStartError(message);
  }

  private onServerExit(child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (this.child !== child) return;
    this.child = undefined;
    if (this.disposed) return;
    const how = signal ? `killed by ${signal}` : `exited with code ${code}`;
    this.options.log.error(`The AgentFense server ${how}.`);
    this.onStopped?.(how);
    const now = Date.now();
    this.restarts = this.restarts.filter((t) => now - t < RESTART_WINDOW_MS);
    if (this.restarts.length >= MAX_RESTARTS) {
      const msg = `The AgentFense server stopped ${MAX_RESTARTS} times in 5 minutes; not restarting it again. See the "AgentFense Server" log.`;
      this.options.log.error(msg);
      this.onFatal?.(msg);
      return;
    }
    this.restarts.push(now);
    this.options.log.info('Restarting the AgentFense server…');
    this.ensureRunning().then(
      () => this.onRestarted?.(),
      (e: unknown) => {
        this.options.log.error(`Restart failed: ${(e as Error).message}`);
        this.onFatal?.((e as Error).message);
      },
    );
  }

  /** Stops the server if this window started it (used by "Restart Server"). */
  async stop(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (child && child.exitCode === null) {
      child.kill('SIGTERM');
      await new Promise((r) => setTimeout(r, 300));
    }
  }

  private startTail(fromStart: boolean): void {
    if (this.tail) return;
    this.tail = new LogTail(this.logFile, fromStart ? 0 : Math.max(0, fileSize(this.logFile) - 4096), (line) =>
      this.options.log.serverLine(line),
    );
  }

  dispose(): void {
    // The server is shared with other windows: leave it running.
    this.disposed = true;
    this.tail?.dispose();
    this.child?.removeAllListeners('exit');
  }
}

function fileSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

function rotateLog(path: string): void {
  if (fileSize(path) > LOG_ROTATE_BYTES) {
    try {
      renameSync(path, path + '.1');
    } catch {
      // another window rotated it
    }
  }
}

async function lastErrorLine(path: string, from: number): Promise<string | undefined> {
  try {
    const fh = await open(path, 'r');
    try {
      const { size } = await fh.stat();
      const buf = Buffer.alloc(Math.min(size - from, 64 * 1024));
      await fh.read(buf, 0, buf.length, Math.max(from, size - buf.length));
      const lines = buf
        .toString('utf8')
        .split('\n')
        .filter((l) => l.trim() !== '');
      for (let i = lines.length - 1; i >= 0; i--) {
        const text = describeLogLine(lines[i]);
        if (text.level === 'error' || text.level === 'fatal' || i === lines.length - 1) return text.message;
      }
    } finally {
      await fh.close();
    }
  } catch {
    // no log
  }
  return undefined;
}

/** The server logs JSON lines; anything else is shown as it is. */
export function describeLogLine(line: string): { level: string; message: string } {
  try {
    const o = JSON.parse(line) as Record<string, unknown>;
    if (o && typeof o === 'object') {
      const level =
        typeof o.level === 'string' ? o.level : o.event === 'fatal' || o.event === 'error' ? 'error' : 'info';
      const msg =
        typeof o.msg === 'string'
          ? o.msg
          : typeof o.message === 'string'
            ? o.message
            : typeof o.event === 'string'
              ? o.event
              : '';
      const rest = Object.entries(o)
        .filter(
          ([k]) =>
            !['level', 'msg', 'message', 'time', 'ts', 'event'].includes(k) || (k === 'event' && msg !== o.event),
        )
        .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
        .join(' ');
      return { level, message: [msg, rest].filter(Boolean).join(' ') };
    }
  } catch {
    // not JSON
  }
  return { level: 'info', message: line };
}

/** Follows a growing log file (another window's server writes it) line by line. */
export class LogTail {
  private offset: number;
  private partial = '';
  private timer: NodeJS.Timeout | undefined;
  private reading = false;

  constructor(
    private readonly path: string,
    startOffset: number,
    private readonly onLine: (line: string) => void,
    pollMs = 500,
  ) {
    this.offset = startOffset;
    this.timer = setInterval(() => void this.flush(), pollMs);
    this.timer.unref?.();
  }

  async flush(): Promise<void> {
    if (this.reading) return;
    this.reading = true;
    try {
      const size = fileSize(this.path);
      if (size < this.offset) this.offset = 0; // rotated
      if (size === this.offset) return;
      const fh = await open(this.path, 'r');
      try {
        const buf = Buffer.alloc(Math.min(size - this.offset, 1024 * 1024));
        const { bytesRead } = await fh.read(buf, 0, buf.length, this.offset);
        this.offset += bytesRead;
        const text = this.partial + buf.subarray(0, bytesRead).toString('utf8');
        const lines = text.split('\n');
        this.partial = lines.pop() ?? '';
        for (const l of lines) if (l.trim() !== '') this.onLine(l);
      } finally {
        await fh.close();
      }
    } catch {
      // the file may not exist yet
    } finally {
      this.reading = false;
    }
  }

  dispose(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}
