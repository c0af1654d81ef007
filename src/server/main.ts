/** Entry point of dist/server.js: parse flags, run the server, explain failures plainly. */
import { parseServerOptions, UsageError } from './serverOptions';
import { runServer } from './serverProcess';

async function main(): Promise<void> {
  try {
    await runServer(parseServerOptions(process.argv.slice(2)));
  } catch (err) {
    const message = err instanceof UsageError ? err.message : `server failed to start: ${(err as Error)?.stack ?? String(err)}`;
    process.stderr.write(JSON.stringify({ event: 'fatal', message }) + '\n');
    process.exit(err instanceof UsageError ? 2 : 1);
  }
}

void main();
