/** Entry point of dist/server.js: parse flags, run the server, explain failures plainly. */
import { HelpRequested, parseServerOptions, UsageError } from './serverOptions';
import { runServer } from './serverProcess';
import { parseCheckOptions, runCheckCommand } from './hostCheck/checkCommand';
import { closeInheritedFds } from './inheritedFds';

// First of all: nothing the server was started with beyond stdio may reach a sandbox.
closeInheritedFds();

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  try {
    if (argv.includes('--check') && !argv.includes('--help') && !argv.includes('-h')) {
      const code = await runCheckCommand(parseCheckOptions(argv));
      process.exit(code);
    }
    await runServer(parseServerOptions(argv));
  } catch (err) {
    // Help and flag mistakes are for a person at a terminal: plain text. A failure to start
    // stays a JSON line like the rest of the server's log (the extension shows either).
    if (err instanceof HelpRequested) {
      process.stdout.write(err.message + '\n', () => process.exit(0));
      return;
    }
    if (err instanceof UsageError) {
      process.stderr.write(`agentfense server: ${err.message}\n`, () => process.exit(2));
      return;
    }
    const message = `server failed to start: ${(err as Error)?.stack ?? String(err)}`;
    process.stderr.write(JSON.stringify({ event: 'fatal', message }) + '\n');
    process.exit(1);
  }
}

void main();
