/**
 * A test server with its E2B front on: `--e2b-listen 127.0.0.1:0` and a fresh API key, and the
 * options E2B's SDK takes to reach it (what E2B_API_URL, E2B_SANDBOX_URL and E2B_API_KEY say).
 */
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeTempDir, startServer, type StartOptions, type TestServer } from './server';

export interface E2bTestServer {
  server: TestServer;
  /** `http://127.0.0.1:PORT`. */
  url: string;
  apiKey: string;
  /** Connection options for `Sandbox.create(…)`, `Sandbox.connect(…)`, `Sandbox.list(…)`. */
  sdk: { apiKey: string; apiUrl: string; sandboxUrl: string };
}

export async function startE2bServer(o: StartOptions = {}): Promise<E2bTestServer> {
  const apiKey = `e2b_${randomBytes(16).toString('hex')}`;
  const keyFile = join(makeTempDir('af-e2b-key-'), 'e2b.key');
  writeFileSync(keyFile, `${apiKey}\n`, { mode: 0o600 });
  const server = await startServer({
    ...o,
    args: [...(o.args ?? []), '--e2b-listen', '127.0.0.1:0', '--e2b-key-file', keyFile],
  });
  const listening = server.logs.find((l) => l.includes('"event":"listening"'));
  const url = (JSON.parse(listening ?? '{}') as { e2b?: string }).e2b;
  if (!url) throw new Error(`the server did not report its E2B address:\n${server.logs.join('\n')}`);
  return { server, url, apiKey, sdk: { apiKey, apiUrl: url, sandboxUrl: url } };
}
