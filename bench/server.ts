/**
 * Starts the embedded server the way the extension does (`node dist/server.js --listen
 * unix:PATH --data-dir DIR`) in a temp dir of its own, and stops it afterwards. The bench
 * never talks to a server it did not start, so figures are not mixed with someone's state.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect, type Rpc } from './rpc';
import { nowMs } from './stats';

export interface BenchServer {
  pid: number;
  socketPath: string;
  dataDir: string;
  logPath: string;
  rpc: Rpc;
  /** The server's stderr/stdout so far (for the bwrap argv debug line and for failures). */
  log(): string;
  stop(): Promise<void>;
}

export interface StartOptions {
  /** Node flags for the server process (e.g. --cpu-prof to see where its time goes). */
  nodeArgs?: string[];
  env?: Record<string, string>;
}

export async function startServer(repoRoot: string, workDir: string, opts: StartOptions = {}): Promise<BenchServer> {
  const dataDir = join(workDir, 'server-data');
  mkdirSync(dataDir, { recursive: true });
  // Unix socket paths are limited to ~107 bytes; the temp dir is short enough.
  const socketPath = join(workDir, 'server.sock');
  const logPath = join(workDir, 'server.log');
  const serverJs = join(repoRoot, 'dist', 'server.js');
  if (!existsSync(serverJs)) throw new Error(`${serverJs} is missing: run "node scripts/build.mjs" first`);

  const logStream = createWriteStream(logPath);
  const child: ChildProcess = spawn(process.execPath, [...(opts.nodeArgs ?? []), serverJs, '--listen', `unix:${socketPath}`, '--data-dir', dataDir], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...opts.env },
  });
  child.stdout!.pipe(logStream, { end: false });
  child.stderr!.pipe(logStream, { end: false });
  let exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  const exitPromise = new Promise<void>((resolve) =>
    child.once('exit', (code, signal) => {
      exited = { code, signal };
      resolve();
    }),
  );
  const log = () => (existsSync(logPath) ? readFileSync(logPath, 'utf8') : '');

  // Ready = the socket answers an RPC. Poll: the server has no readiness signal we may rely on.
  const deadline = nowMs() + 20_000;
  let rpc: Rpc | undefined;
  while (!rpc) {
    if (exited) throw new Error(`server exited (${exited.code ?? exited.signal}) before it was ready:\n${log()}`);
    if (nowMs() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`server did not answer on ${socketPath} within 20 s:\n${log()}`);
    }
    if (existsSync(socketPath)) {
      const candidate = connect(socketPath);
      try {
        await candidate.listCodebases();
        rpc = candidate;
        break;
      } catch {
        candidate.close();
      }
    }
    await new Promise((r) => setTimeout(r, 50));
  }

  return {
    pid: child.pid!,
    socketPath,
    dataDir,
    logPath,
    rpc,
    log,
    async stop() {
      rpc!.close();
      if (!exited) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exitPromise;
        clearTimeout(timer);
      }
      logStream.end();
    },
  };
}
