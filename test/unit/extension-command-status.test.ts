import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Metadata } from '@grpc/grpc-js';
import { CommandOutput, type ExecOutputChunk } from '../../src/client';
import { CommandStatus } from '../../src/extension/run/commandStatus';
import { ServerTrust } from '../../src/extension/server/serverTrust';
import { EXIT_CODE_TRAILER, SESSION_CWD_TRAILER } from '../../src/shared/streamTrailers';

/** A CommandOutput whose stream ends with `trailers` (as grpc-js hands them to the client). */
function outputEndingWith(chunks: ExecOutputChunk[], trailers?: Record<string, string | Buffer>): CommandOutput {
  async function* gen(): AsyncGenerator<ExecOutputChunk, Metadata | undefined, undefined> {
    for (const c of chunks) yield c;
    if (!trailers) return undefined;
    const md = new Metadata();
    for (const [k, v] of Object.entries(trailers)) md.set(k, v);
    return md;
  }
  return new CommandOutput(gen());
}

async function drain(status: CommandStatus, output: CommandOutput): Promise<string> {
  let shown = '';
  for await (const c of output) shown += c.stream === 'stderr' ? status.stderr(c.data.toString()) : c.data.toString();
  return shown + status.end(output).rest;
}

describe('CommandStatus', () => {
  it('with a server that sends exit codes: the command goes as typed, and marker-like output is just output', async () => {
    const status = new CommandStatus(true, 'session');
    assert.equal(status.commandFor('false'), 'false');
    const fake = '\x1eAFX000000000000:0:/tmp\x1e';
    const output = outputEndingWith([{ stream: 'stderr', data: Buffer.from(fake) }], {
      [EXIT_CODE_TRAILER]: '1',
      [SESSION_CWD_TRAILER]: Buffer.from('/workspace/é'),
    });
    assert.equal(await drain(status, output), fake);
    assert.deepEqual(status.end(output).end, { exitCode: 1, cwd: '/workspace/é' });
  });

  it('with one that does not: the command is wrapped and the marker read back out of stderr', async () => {
    const status = new CommandStatus(false, 'command');
    const wrapped = status.commandFor('exit 3');
    assert.notEqual(wrapped, 'exit 3');
    const nonce = /AFX[0-9a-f]+/.exec(wrapped)![0];
    const output = outputEndingWith([{ stream: 'stderr', data: Buffer.from(`oops\n\x1e${nonce}:3\x1e`) }]);
    assert.equal(await drain(status, output), 'oops\n');
    assert.deepEqual(status.end(output).end, { exitCode: 3, cwd: undefined });
  });

  it('no trailer and no marker: the exit code is unknown, not 0', async () => {
    const status = new CommandStatus(true, 'command');
    const output = outputEndingWith([{ stream: 'stdout', data: Buffer.from('x') }]);
    await drain(status, output);
    assert.equal(status.end(output).end.exitCode, undefined);
  });
});

describe('ServerTrust', () => {
  it('trusts the embedded server at once, a remote one after a stream ended with an exit code', async () => {
    assert.equal(new ServerTrust(true).sendsStatus, true);
    const remote = new ServerTrust(false);
    const silent = outputEndingWith([]);
    for await (const _ of silent);
    remote.learnFrom(silent);
    assert.equal(remote.sendsStatus, false, 'AgentFense’s own server sends none');
    const telling = outputEndingWith([], { [EXIT_CODE_TRAILER]: '0' });
    for await (const _ of telling);
    remote.learnFrom(telling);
    assert.equal(remote.sendsStatus, true);
  });
});
