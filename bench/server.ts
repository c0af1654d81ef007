/**
 * The bench's server: started by the tests' harness (test/helpers/server.ts, the one place that
 * starts servers) as the extension does (`node dist/server.js --listen unix:PATH --data-dir
 * DIR`), in a temp dir of its own. The bench never talks to a server it did not start, so
 * figures are not mixed with someone's state.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { startServer as startHarnessServer } from '../test/helpers/server';
import { connect, type Rpc } from './rpc';

export interface BenchServer {
  pid: number;
  socketPath: string;
  dataDir: string;
  rpc: Rpc;
  /** The server's log lines so far (for failures). */
  log(): string;
  stop(): Promise<void>;
}

export async function startServer(workDir: string, args: readonly string[] = []): Promise<BenchServer> {
  mkdirSync(workDir, { recursive: true });
  // Unix socket paths are limited to ~107 bytes; the temp dir is short enough.
  const socketPath = join(workDir, 'server.sock');
  const server = await startHarnessServer({
    dataDir: join(workDir, 'server-data'),
    listen: `unix:${socketPath}`,
    args: [...args],
  });
  const rpc = connect(socketPath);
  return {
    pid: server.proc.pid!,
    socketPath,
    dataDir: server.dataDir,
    rpc,
    log: () => server.logs.join('\n'),
    async stop() {
      rpc.close();
      await server.stop();
    },
  };
}
