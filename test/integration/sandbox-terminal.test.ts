/**
 * TerminalService.OpenTerminal against the real server: a real pseudo-terminal in the
 * sandbox. Size and resize reach the shell, Ctrl+C interrupts the foreground job only, job
 * control and a REPL work, what the shell's commands write is merged at the prompt, and bad
 * requests get clear errors.
 *
 *   node scripts/build.mjs && node --import tsx --test test/integration/sandbox-terminal.test.ts
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  InvalidConfigurationError,
  SandboxClient,
  SandboxNotFoundError,
  SandboxNotRunningError,
  type InteractiveTerminal,
} from '../../src/client';
import { getPreset } from '../../src/shared/presets';
import { call, startServer, wireRules, type TestServer } from '../helpers/server';
import { processesMatching } from '../helpers/hostProcesses';
import { settle } from '../helpers/waitFor';
import { TerminalTranscript } from '../helpers/terminalTranscript';

const PROMPT = /sandbox\S*:\S*\$ $/;

let server: TestServer;
let client: SandboxClient;
let codebaseId: string;
let sandboxId: string;

before(async () => {
  server = await startServer();
  client = new SandboxClient({ endpoint: server.address });
  codebaseId = await server.createCodebase({ 'src/a.txt': 'a\n' });
  sandboxId = await server.startSandbox(codebaseId, wireRules(getPreset('development')));
});
after(async () => {
  client.close();
  await server.stop();
});

async function opened(options = {}): Promise<{ terminal: InteractiveTerminal; screen: TerminalTranscript }> {
  const terminal = client.openTerminal(sandboxId, { rows: 24, cols: 100, ...options });
  const screen = new TerminalTranscript(terminal);
  await screen.waitFor(PROMPT);
  return { terminal, screen };
}

describe('OpenTerminal', () => {
  it('gives the shell a terminal of the size asked, and resizes it', async () => {
    const { terminal, screen } = await opened();
    assert.match(await screen.run('stty size; tty'), /24 100\r\n\/dev\/pts\/\d+/);
    terminal.resize(40, 132);
    assert.match(await screen.run('stty size'), /40 132/);
    terminal.write('exit 3\r');
    assert.deepEqual(await terminal.end, { exitCode: 3 });
  });

  it('Ctrl+C interrupts the foreground job and the shell goes on', async () => {
    const { terminal, screen } = await opened();
    const from = screen.text.length;
    terminal.write('for i in $(seq 1 100); do echo tick $i; sleep 1; done\r');
    await screen.waitFor(/tick 1/, from);
    terminal.write('\x03');
    await screen.waitFor(/\^C[\s\S]*\$ $/, from);
    assert.match(await screen.run('echo alive-$((20+22))'), /alive-42/);
    assert.equal(terminal.isOpen, true);
    terminal.close();
    assert.deepEqual(await terminal.end, { exitCode: 129 });
  });

  it('has job control and runs a REPL', async () => {
    const { terminal, screen } = await opened();
    assert.match(await screen.run('sleep 60 & jobs'), /\[1\]\+\s+Running\s+sleep 60 &/);
    assert.match(await screen.run('kill %1; wait; jobs; echo done'), /done/);
    let from = screen.text.length;
    terminal.write('python3 -q\r');
    await screen.waitFor(/>>> $/, from);
    from = screen.text.length;
    terminal.write('print(6 * 7)\r');
    await screen.waitFor(/42\r\n>>> $/, from);
    from = screen.text.length;
    terminal.write('exit()\r');
    await screen.waitFor(PROMPT, from);
    terminal.close();
  });

  it("merges what the shell's commands wrote when it is back at its prompt", async () => {
    const { terminal, screen } = await opened();
    await screen.run('echo from-terminal > made.txt && cp src/a.txt src/b.txt');
    const merges = await settle(
      () => screen.merges,
      (m) => m.length > 0,
    );
    assert.ok(merges[0]! >= 2, `merged paths: ${merges.join(',')}`);
    assert.equal(await server.download(codebaseId, 'made.txt'), 'from-terminal\n');
    assert.equal(await server.download(codebaseId, 'src/b.txt'), 'a\n');
    terminal.close();
  });

  it('takes a paste larger than one message whole, in order', async () => {
    const { terminal, screen } = await opened();
    // Raw mode: the line discipline would cut a 200 KB line at 4 KiB.
    const from = screen.text.length;
    terminal.write('stty raw -echo; head -c 200000 | sha256sum; stty sane\r');
    await screen.waitFor(/stty sane\r\n/, from);
    const paste = Buffer.alloc(200_000);
    for (let i = 0; i < paste.length; i++) paste[i] = 0x61 + (i % 26);
    terminal.write(paste);
    const digest = (await import('node:crypto')).createHash('sha256').update(paste).digest('hex');
    await screen.waitFor(new RegExp(`${digest}[\\s\\S]*\\$ $`), from);
    terminal.close();
  });

  it('hangs up on close: nothing of the terminal is left running', async () => {
    const { terminal, screen } = await opened();
    await screen.run('sleep 1234 &');
    assert.ok(processesMatching('sleep 1234').length > 0);
    terminal.close();
    const left = await settle(
      () => processesMatching('sleep 1234'),
      (p) => p.length === 0,
    );
    assert.deepEqual(left, []);
  });

  it('a sandbox stopped under it ends the terminal with a reason', async () => {
    const other = await server.startSandbox(codebaseId, wireRules(getPreset('development')));
    const terminal = client.openTerminal(other, {});
    const screen = new TerminalTranscript(terminal);
    await screen.waitFor(PROMPT);
    await call(server.sandboxes, server.sandboxes.stopSandbox, { sandboxId: other });
    const end = await terminal.end;
    assert.ok('error' in end, JSON.stringify(end));
    assert.match(end.error.message, /the terminal ended/);
  });

  it('refuses what it cannot honour, with the reason', async () => {
    const cases: [Promise<unknown>, new (...a: never[]) => Error, RegExp][] = [
      [client.openTerminal(sandboxId, { rows: 70000 }).end, InvalidConfigurationError, /rows is 70000/],
      [client.openTerminal(sandboxId, { shell: '/tmp/evil' }).end, InvalidConfigurationError, /under \/usr/],
      [client.openTerminal(sandboxId, { workdir: '../..' }).end, InvalidConfigurationError, /outside \/workspace/],
      [client.openTerminal('sb_0000000000000000', {}).end, SandboxNotFoundError, /not found/],
    ];
    for (const [end, type, message] of cases) {
      const e = await end;
      assert.ok(e && typeof e === 'object' && 'error' in e, JSON.stringify(e));
      assert.ok((e.error as Error) instanceof type, `${(e.error as Error).name}: ${(e.error as Error).message}`);
      assert.match((e.error as Error).message, message);
    }
    const stopped = await server.startSandbox(codebaseId, wireRules(getPreset('development')));
    await call(server.sandboxes, server.sandboxes.stopSandbox, { sandboxId: stopped });
    const end = await client.openTerminal(stopped, {}).end;
    assert.ok('error' in end && end.error instanceof SandboxNotRunningError, JSON.stringify(end));
  });
});
