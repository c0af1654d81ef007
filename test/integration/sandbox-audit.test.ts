/**
 * Audited commands against the real server: the accesses the rules refused, as the kernel saw
 * them (strace in the sandbox), each with the rule that decided it — a hidden file, a `view`
 * file read, a write to a read-only path, in a grandchild too — and a file that exists
 * nowhere is not one. Unaudited commands carry no denials.
 *
 *   node scripts/build.mjs && node --import tsx --test test/integration/sandbox-audit.test.ts
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SandboxClient } from '../../src/client';
import { getPreset } from '../../src/shared/presets';
import type { WireDenials } from '../../src/shared/denialWire';
import { startServer, wireRules, type TestServer } from '../helpers/server';

let server: TestServer;
let client: SandboxClient;
let sandboxId: string;

const RULES = [
  { pattern: 'docs/**', permission: 'view' as const, type: 'glob' as const, priority: 20 },
  ...getPreset('agent-safe'),
];

before(async () => {
  server = await startServer();
  client = new SandboxClient({ endpoint: server.address });
  const codebaseId = await server.createCodebase({
    '.env': 'SECRET=1\n',
    'secrets/k.pem': 'KEY\n',
    'src/a.txt': 'a\n',
    'docs/x.md': '# x\n',
  });
  sandboxId = await server.startSandbox(codebaseId, wireRules(RULES));
});
after(async () => {
  client.close();
  await server.stop();
});

const summary = (d: WireDenials | undefined) =>
  (d?.denials ?? []).map((x) => `${x.kind} ${x.path} by ${x.rule?.pattern ?? '(none)'}`).sort();

const COMMAND = [
  'cat .env',
  'cat docs/x.md',
  'echo changed > src/a.txt',
  'cat nothere.txt',
  `sh -c 'sh -c "cd src && cat ../secrets/k.pem"'`,
  'echo done',
].join('; ');

describe('audited commands', () => {
  it('Exec reports each refused access with its rule; the command runs as it would', async () => {
    const r = await client.exec(sandboxId, COMMAND, { audit: true });
    assert.match(r.stdout, /done/);
    assert.match(r.stderr, /\.env: No such file/);
    assert.deepEqual(summary(r.denials), [
      'hidden .env by **/.env*',
      'hidden secrets by **/secrets/**',
      'read-only src/a.txt by **/*',
      'unreadable docs/x.md by docs/**',
    ]);
    const env = r.denials!.denials.find((d) => d.path === '.env')!;
    assert.equal(env.named, '.env');
    assert.equal(env.op, 'openat');
    assert.ok(env.pid > 0 && env.time > 1_700_000_000, JSON.stringify(env));
    assert.equal(r.denials!.dropped, 0);
  });

  it('ExecStream reports them too, once read to the end', async () => {
    const out = client.execStream(sandboxId, COMMAND, { audit: true });
    for await (const _ of out);
    assert.equal(summary(out.denials).length, 4);
  });

  it('an unaudited command carries no denials, and nothing refused means an empty list', async () => {
    assert.equal((await client.exec(sandboxId, 'cat .env; true')).denials, undefined);
    const clean = await client.exec(sandboxId, 'cat src/a.txt; ls /nonexistent; true', { audit: true });
    assert.deepEqual(clean.denials, { denials: [], dropped: 0 });
  });
});
