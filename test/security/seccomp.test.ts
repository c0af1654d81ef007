/**
 * L4 (issue 18): sandboxes run under a seccomp filter (dist/seccomp.bpf, built from
 * src/server/sandbox/runtime/seccomp-policy.json). Every syscall the policy denies fails with its
 * errno inside a sandbox, normal tools still work, and the host user's kernel keyring is out
 * of reach: before, a sandbox of a non-root server listed the user's keys in /proc/keys and
 * read their payloads with KEYCTL_READ.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { getPreset } from '../../src/shared/presets';
import { startServer, wireRules, type TestServer } from '../helpers/server';

const POLICY = join(__dirname, '..', '..', 'src', 'server', 'sandbox', 'runtime', 'seccomp-policy.json');

interface Policy {
  deny: { errno: string; syscalls: string[] }[];
  denyFlags: { errno: string; syscalls: string[] }[];
  enosys: { syscalls: string[] }[];
}
const policy = JSON.parse(readFileSync(POLICY, 'utf8')) as Policy;

/** Syscall numbers of this machine, from the same libseccomp the build uses. */
function syscallNumbers(names: string[]): Record<string, number> {
  const out = execFileSync(
    '/usr/bin/python3',
    [
      '-c',
      'import json,sys,seccomp; print(json.dumps({n: seccomp.resolve_syscall(seccomp.Arch.NATIVE, n) for n in sys.argv[1:]}))',
      ...names,
    ],
    {
      encoding: 'utf8',
    },
  );
  return JSON.parse(out) as Record<string, number>;
}

/** Host-side keyring calls through libc (no keyutils needed). */
const HOST_KEY = (description: string, payload: string) => `
import ctypes
l = ctypes.CDLL(None, use_errno=True)
l.syscall.restype = ctypes.c_long
p = b'${payload}'
print(l.syscall(248, b'user', b'${description}', p, len(p), -4))`;

let server: TestServer;
let sandboxId: string;

before(async () => {
  server = await startServer();
  const codebaseId = await server.createCodebase({
    Makefile: 'all:\n\t@echo made\n',
    'hello.c': 'int main(void){return 0;}\n',
  });
  sandboxId = await server.startSandbox(codebaseId, wireRules(getPreset('full-access')));
});
after(async () => {
  await server.stop();
});

/** Runs python in the sandbox: each line `name nr a0 a1 …` → `name errno` (0 when it succeeded). */
async function errnosOf(calls: [name: string, nr: number, ...args: number[]][]): Promise<Record<string, number>> {
  const script = `
import ctypes, os, sys
l = ctypes.CDLL(None, use_errno=True)
l.syscall.restype = ctypes.c_long
for line in sys.stdin.read().split('\\n'):
    if not line: continue
    name, nr, *args = line.split()
    ctypes.set_errno(0)
    r = l.syscall(ctypes.c_long(int(nr)), *[ctypes.c_long(int(a)) for a in args])
    if r == 0 and name.startswith('clone'):
        os._exit(0)  # an unfiltered clone made a child: it must not print
    print(name, ctypes.get_errno() if r == -1 else 0, flush=True)
`;
  const stdin = calls.map((c) => c.join(' ')).join('\n') + '\n';
  const r = await server.exec(sandboxId, `python3 -c '${script.replace(/'/g, `'\\''`)}'`, { stdin });
  assert.equal(r.exitCode, 0, r.stderr);
  return Object.fromEntries(
    r.stdout
      .trim()
      .split('\n')
      .map((l) => [l.split(' ')[0], Number(l.split(' ')[1])]),
  );
}

const EPERM = 1;
const ENOSYS = 38;
const CLONE_NEWUSER = 0x10000000;
const SIGCHLD = 17;

describe('the seccomp filter', () => {
  it('is loaded for every command', async () => {
    const r = await server.exec(sandboxId, 'grep -E "^Seccomp(_filters)?:" /proc/self/status');
    assert.match(r.stdout, /^Seccomp:\s+2$/m);
  });

  it('denies every syscall the policy lists with EPERM (and clone3 with ENOSYS)', async () => {
    const denied = policy.deny.flatMap((g) => g.syscalls);
    const nr = syscallNumbers([...denied, 'unshare', 'clone', 'clone3']);
    // Arguments that would make most of them succeed or fail differently when allowed.
    const got = await errnosOf([
      ...denied.map((n) => [n, nr[n], 0, 0, 0, 0, 0] as [string, number, ...number[]]),
      ['unshare', nr.unshare, CLONE_NEWUSER],
      ['clone', nr.clone, CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0],
      ['clone3', nr.clone3, 0, 0],
    ]);
    const expected = Object.fromEntries([...denied, 'unshare', 'clone'].map((n) => [n, EPERM]));
    assert.deepEqual(got, { ...expected, clone3: ENOSYS });
  });

  it('a nested user namespace cannot be made (unshare -U)', async () => {
    const r = await server.exec(sandboxId, 'unshare -U true; echo "exit $?"');
    assert.match(r.stdout, /exit [1-9]/);
    assert.match(r.stderr, /Operation not permitted/);
  });

  it('normal tools still work: threads, fork, git, make, python, node, gcc', async () => {
    const tools = [
      "python3 -c \"import threading,subprocess; t=threading.Thread(target=print,args=('thread',)); t.start(); t.join(); print(subprocess.run(['true']).returncode)\"",
      'git init -q /tmp/repo && cd /tmp/repo && git -c user.name=t -c user.email=t@t commit -q --allow-empty -m x && git log --oneline | wc -l',
      'cd /workspace && make',
      'command -v node >/dev/null && node -e "require(\'worker_threads\'); console.log(\'node ok\')" || echo "node ok"',
      'if command -v gcc >/dev/null; then gcc -o /tmp/hello /workspace/hello.c && /tmp/hello && echo "gcc ok"; else echo "gcc ok"; fi',
      'if command -v strace >/dev/null; then strace -o /dev/null true && echo "strace ok"; else echo "strace ok"; fi',
    ];
    const r = await server.exec(sandboxId, tools.join(' && '));
    assert.equal(r.exitCode, 0, r.stderr);
    assert.equal(r.stdout, 'thread\n0\n1\nmade\nnode ok\ngcc ok\nstrace ok\n');
  });
});

describe("the host user's keyring (L4 repro)", () => {
  const description = `af-test-key-${randomBytes(6).toString('hex')}`;
  const payload = `AFCANARY-key-${randomBytes(12).toString('hex')}`;
  let keyId = 0;

  before(() => {
    keyId = Number(
      execFileSync('/usr/bin/python3', ['-c', HOST_KEY(description, payload)], { encoding: 'utf8' }).trim(),
    );
    assert.ok(keyId > 0, 'the test added a key to its user keyring');
  });
  after(() => {
    // KEYCTL_REVOKE
    execFileSync('/usr/bin/python3', ['-c', `import ctypes; ctypes.CDLL(None).syscall(250, 3, ${keyId})`]);
  });

  it('is not listed in /proc/keys and cannot be read', async () => {
    const nr = syscallNumbers(['keyctl', 'add_key']);
    const r = await server.exec(
      sandboxId,
      `cat /proc/keys /proc/key-users 2>&1; python3 -c "
import ctypes
l = ctypes.CDLL(None, use_errno=True)
l.syscall.restype = ctypes.c_long
buf = ctypes.create_string_buffer(4096)
print('read', l.syscall(${nr.keyctl}, 11, ${keyId}, buf, 4096), ctypes.get_errno(), buf.value)
print('search', l.syscall(${nr.keyctl}, 10, -4, b'user', b'${description}', 0), ctypes.get_errno())
print('add', l.syscall(${nr.add_key}, b'user', b'mine', b'x', 1, -4), ctypes.get_errno())"`,
    );
    const out = r.stdout + r.stderr;
    assert.ok(!out.includes(description), `the key's description is visible:\n${out}`);
    assert.ok(!out.includes(payload), `the key's payload was read:\n${out}`);
    assert.match(r.stdout, /^read -1 1 b''$/m);
    assert.match(r.stdout, /^search -1 1$/m);
    assert.match(r.stdout, /^add -1 1$/m);
  });
});
