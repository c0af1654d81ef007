/**
 * W8 (issue 18): a session command's exit code comes from the kernel, through a channel
 * sandboxed code cannot write. Before, the end marker was printed by the shell that ran the
 * untrusted command: after `printf() { :; }` a later `false` reported exit 0 (or nothing).
 * Whatever one command does to its shell, its output, or the processes around it, the next
 * `false` reports 1 and `exit 3` reports 3.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ExecResult, Session } from '../../src/generated/sandbox';
import { getPreset } from '../../src/shared/presets';
import { call, startServer, wireRules, type TestServer } from '../helpers/server';

let server: TestServer;
let sandboxId: string;

before(async () => {
  server = await startServer();
  const codebaseId = await server.createCodebase({ 'a.txt': 'a\n' });
  sandboxId = await server.startSandbox(codebaseId, wireRules(getPreset('full-access')));
});
after(async () => {
  await server.stop();
});

const createSession = (shell = '') =>
  call<Session>(server.sandboxes, server.sandboxes.createSession, { sandboxId, shell, env: {} });
const run = (sessionId: string, command: string) =>
  call<ExecResult>(server.sandboxes, server.sandboxes.sessionExec, {
    sessionId,
    command,
    timeout: { seconds: 20, nanos: 0 },
  });

/** After `attack`, `false` must exit 1, `exit 3` 3 and `true` 0, in the same session. */
async function honestAfter(attack: string, shell = ''): Promise<void> {
  const s = await createSession(shell);
  try {
    await run(s.id, attack);
    assert.equal((await run(s.id, 'false')).exitCode, 1, `after ${attack}: false`);
    assert.equal((await run(s.id, 'exit 3')).exitCode, 3, `after ${attack}: exit 3`);
    assert.equal((await run(s.id, 'true')).exitCode, 0, `after ${attack}: true`);
  } finally {
    await call(server.sandboxes, server.sandboxes.destroySession, { sessionId: s.id });
  }
}

/** Every marker format the old and new wrappers used, with guessed nonces and exit 0. */
const FAKE_MARKERS = String.raw`for n in 0 1 deadbeef; do printf '\036AFEND-%s-0\036\036AFEND-%s\036' $n $n; printf '\036AFEND-%s\036' $n >&2; done`;

describe('session exit codes cannot be forged', () => {
  it('the supervisor reports what the command really exited with', async () => {
    const s = await createSession();
    assert.equal((await run(s.id, 'false')).exitCode, 1);
    assert.equal((await run(s.id, 'exit 3')).exitCode, 3);
    assert.equal((await run(s.id, 'sh -c "kill -9 \\$\\$"')).exitCode, 137);
    await call(server.sandboxes, server.sandboxes.destroySession, { sessionId: s.id });
  });

  it('after redefining printf, echo, exit, trap and builtin (bash)', async () => {
    await honestAfter(
      'printf() { :; }; echo() { :; }; exit() { builtin exit 0; }; trap() { :; }; export -f printf echo exit trap 2>/dev/null; true',
    );
  });

  it('after redefining printf (sh)', async () => {
    await honestAfter('printf() { :; }; true', '/bin/sh');
  });

  it('after closing stdout and stderr', async () => {
    await honestAfter('exec 1>&- 2>&-; true');
  });

  it('after a trap that exits 0 and a BASH_ENV / ENV that does', async () => {
    await honestAfter(
      "trap 'exit 0' EXIT; echo 'exit 0' > /tmp/forge.sh; export BASH_ENV=/tmp/forge.sh ENV=/tmp/forge.sh; true",
    );
  });

  it('after printing fake end markers, now and from the background during the next command', async () => {
    await honestAfter(
      `${FAKE_MARKERS}; (for i in $(seq 1 200); do ${FAKE_MARKERS}; sleep 0.05; done) >/dev/null 2>&1 & true`,
    );
  });

  it('after trying to write to every descriptor of every process it can open', async () => {
    const forge = `for f in /proc/[0-9]*/fd/*; do printf 'x 0 \\n%s 0 \\n' "$f" > "$f"; done 2>/dev/null; true`;
    await honestAfter(`(while :; do ${forge}; sleep 0.1; done) >/dev/null 2>&1 & ${forge}`);
  });

  it("a background writer to every descriptor it can open cannot change the next commands' text", async () => {
    // Before: the supervisor decoded each command with `base64 -d`, a readable program whose
    // stdin any sandbox process could open through /proc and write into: `true` became `x 0`.
    const s = await createSession();
    try {
      const forge = `for f in /proc/[0-9]*/fd/*; do printf 'x 0 \\n%s 0 \\n' "$f" > "$f"; done 2>/dev/null; true`;
      await run(s.id, `(while :; do ${forge}; sleep 0.02; done) >/dev/null 2>&1 & true`);
      for (let i = 0; i < 8; i++) {
        const r = await run(s.id, `echo "n=$((6*7+${i}))"`);
        assert.deepEqual([r.exitCode, r.stdout, r.stderr], [0, `n=${42 + i}\n`, ''], `command ${i}`);
      }
    } finally {
      await call(server.sandboxes, server.sandboxes.destroySession, { sessionId: s.id });
    }
  });

  it("the supervisor's descriptors, memory and stdin are out of the command's reach", async () => {
    const s = await createSession();
    const r = await run(
      s.id,
      `ls /proc/$PPID/fd 2>&1; head -c 1 /proc/$PPID/mem 2>&1; cat /proc/$PPID/fd/0 2>&1; cat /proc/$PPID/environ 2>&1;` +
        ` python3 -c "import ctypes;l=ctypes.CDLL(None);print('ptrace', l.ptrace(16, $PPID, 0, 0))"; ls /proc/self/fd`,
    );
    assert.match(r.stdout, /ls: cannot open directory '\/proc\/\d+\/fd': Permission denied/);
    assert.match(r.stdout, /ptrace -1/);
    assert.doesNotMatch(r.stdout, /AFEND/);
    // The command holds stdin (/dev/null), stdout and stderr (and ls its directory): no status pipe.
    assert.ok(!/^4$/m.test(r.stdout.split('ptrace')[1] ?? ''), `the command holds fd 4: ${r.stdout}`);
    await call(server.sandboxes, server.sandboxes.destroySession, { sessionId: s.id });
  });
});

describe('the merge count a stream ends with', () => {
  it('comes from the merge: printed headers, odd names and a deleted file do not bend it', async () => {
    const forged = await server.execStream(
      sandboxId,
      "echo 'x-agentfense-paths-merged: 0' >&2; printf 'x-agentfense-paths-merged: 999\\n'; echo x > \"$(printf 'odd\\nname')\"",
    );
    assert.equal(forged.exitCode, 0, forged.stderr);
    assert.equal(forged.pathsMerged, 1, 'one file written, whatever the output says');
    const deleted = await server.execStream(sandboxId, 'rm a.txt');
    assert.equal(deleted.pathsMerged, 1);
    const nothing = await server.execStream(sandboxId, 'cat /workspace/odd* >/dev/null; ls >/dev/null');
    assert.equal(nothing.pathsMerged, 0);
  });
});
