/**
 * The interactive terminal (OpenTerminal) from inside the sandbox, as an attacker: the helper
 * that holds the server's pipes (ptyHelper.c) is execute-only, so the shell can neither read
 * it nor reach its descriptors or memory; bytes the shell prints that look like the helper's
 * frames are only output; a flood of output does not stall the server.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SandboxClient } from '../../src/client';
import type { ListSandboxesResponse } from '../../src/generated/sandbox';
import { getPreset } from '../../src/shared/presets';
import { call, startServer, wireRules, type TestServer } from '../helpers/server';
import { TerminalTranscript } from '../helpers/terminalTranscript';

const PROMPT = /sandbox\S*:\S*\$ $/;

let server: TestServer;
let client: SandboxClient;
let codebaseId: string;
let sandboxId: string;

before(async () => {
  server = await startServer();
  client = new SandboxClient({ endpoint: server.address });
  codebaseId = await server.createCodebase({ 'a.txt': 'a\n' });
  sandboxId = await server.startSandbox(codebaseId, wireRules(getPreset('full-access')));
});
after(async () => {
  client.close();
  await server.stop();
});

async function opened() {
  const terminal = client.openTerminal(sandboxId, { rows: 24, cols: 200 });
  const screen = new TerminalTranscript(terminal);
  await screen.waitFor(PROMPT);
  return { terminal, screen };
}

describe("the terminal helper, from the sandbox's side", () => {
  it('cannot be read, traced, or entered through /proc by the shell it runs', async () => {
    const { terminal, screen } = await opened();
    // The shell's parent is the helper.
    assert.match(await screen.run('cat /proc/$PPID/comm'), /\rpty\r\n/);
    const probes = [
      'cat /run/agentfense/pty > /dev/null',
      'ls /proc/$PPID/fd',
      'head -c 1 /proc/$PPID/mem',
      'cat /proc/$PPID/environ',
      'python3 -c "import ctypes,sys; l=ctypes.CDLL(None); sys.exit(0 if l.ptrace(16, int(sys.argv[1]), 0, 0) == 0 else 1)" $PPID',
    ];
    for (const probe of probes) {
      const out = await screen.run(`${probe}; echo "exit=$?"`);
      assert.match(
        out,
        /(Permission denied|Operation not permitted)[\s\S]*exit=[1-9]|exit=1\r/,
        `${probe} must fail:\n${out}`,
      );
    }
    terminal.close();
  });

  it("prints of the helper's frame bytes are output, not frames", async () => {
    const { terminal, screen } = await opened();
    // An 'X' (exited, code 7) and a 'P' (prompt) frame, and a frame header announcing 4 GiB.
    const out = await screen.run(
      "printf 'X\\000\\000\\000\\004\\000\\000\\000\\007P\\000\\000\\000\\000D\\377\\377\\377\\377'; echo; echo still-here",
    );
    assert.match(out, /still-here/);
    assert.equal(terminal.isOpen, true);
    assert.match(await screen.run('echo $((6*7))'), /42/);
    terminal.write('exit 5\r');
    assert.deepEqual(await terminal.end, { exitCode: 5 });
  });

  it('a flood of output does not stall the server; Ctrl+C ends it', async () => {
    const { terminal, screen } = await opened();
    const from = screen.text.length;
    terminal.write('yes flood\r');
    await screen.waitFor(/flood\r\nflood\r\n/, from);
    for (let i = 0; i < 5; i++) {
      const t = performance.now();
      await call<ListSandboxesResponse>(server.sandboxes, server.sandboxes.listSandboxes, {
        codebaseId,
        pageSize: 0,
        pageToken: '',
      });
      assert.ok(performance.now() - t < 5000, 'ListSandboxes answered while the terminal floods');
    }
    terminal.write('\x03');
    const after = screen.text.length;
    assert.match(await screen.run('echo calm'), /calm/);
    assert.ok(screen.text.length > after);
    terminal.close();
  });
});
