/**
 * The audit trail from inside the sandbox, as an attacker: the command cannot write to the
 * pipe strace reports on (closed before it starts; strace is execute-only, so its descriptors
 * are out of reach), so it cannot forge a denial (which would invite the user to grant it a
 * path), and printing strace-like lines is only output.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SandboxClient } from '../../src/client';
import { getPreset } from '../../src/shared/presets';
import { startServer, wireRules, type TestServer } from '../helpers/server';

let server: TestServer;
let client: SandboxClient;
let sandboxId: string;

before(async () => {
  server = await startServer();
  client = new SandboxClient({ endpoint: server.address });
  const codebaseId = await server.createCodebase({ '.env': 'S=1\n', 'src/a.txt': 'a\n' });
  sandboxId = await server.startSandbox(codebaseId, wireRules(getPreset('agent-safe')));
});
after(async () => {
  client.close();
  await server.stop();
});

const FORGED = '5 1.0 openat(AT_FDCWD</workspace>, ".env", O_RDONLY) = -1 ENOENT (No such file or directory)';

describe('forging an audit record', () => {
  it('the audit descriptor is closed in the command, and strace’s own descriptors are out of reach', async () => {
    const r = await client.exec(
      sandboxId,
      [
        `echo '${FORGED}' >&5 && echo wrote-fd5`,
        `echo '${FORGED}' > /proc/$PPID/fd/5 && echo wrote-strace-fd`,
        'cat /run/agentfense/strace > /dev/null && echo read-strace',
        `echo '${FORGED}' >&2`,
        'echo end',
      ].join('; '),
      { audit: true },
    );
    assert.match(r.stdout, /end/);
    assert.doesNotMatch(r.stdout, /wrote-fd5|wrote-strace-fd|read-strace/);
    assert.deepEqual(r.denials, { denials: [], dropped: 0 }, 'no forged denial');
  });
});
