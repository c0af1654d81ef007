// How gRPC statuses become typed errors, per call, keeping the server's message.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Metadata, status, type ServiceError } from '@grpc/grpc-js';
import {
  AgentFenseError,
  CodebaseNotFoundError,
  CommandExecutionError,
  CommandTimeoutError,
  ConnectionError,
  FileNotFoundError,
  InvalidConfigurationError,
  PermissionDeniedError,
  ResourceLimitExceededError,
  SandboxNotFoundError,
  SandboxNotRunningError,
  SessionClosedError,
  SessionNotFoundError,
  UnauthenticatedError,
  UploadError,
} from '../../src/client';
import { toAgentFenseError, type CallContext, type ClientCallName } from '../../src/client/errors';

function serviceError(code: status, details: string): ServiceError {
  return Object.assign(new Error(`${code} ${status[code]}: ${details}`), { code, details, metadata: new Metadata() });
}

const ctx = (call: ClientCallName, extra: Partial<CallContext> = {}): CallContext => ({
  call,
  endpoint: 'unix:/run/af.sock',
  sandboxId: 'sb_1',
  codebaseId: 'cb_1',
  sessionId: 'sess_1',
  filePath: 'a/b.txt',
  command: 'make',
  timeoutMs: 1000,
  ...extra,
});

const map = (code: status, details: string, call: ClientCallName) =>
  toAgentFenseError(serviceError(code, details), ctx(call));

describe('error mapping', () => {
  const table: [status, string, ClientCallName, new (...a: never[]) => AgentFenseError][] = [
    [status.UNAVAILABLE, 'connect ECONNREFUSED', 'getSandbox', ConnectionError],
    [status.UNAVAILABLE, 'connect ECONNREFUSED', 'exec', ConnectionError],
    [status.UNAUTHENTICATED, 'bad token', 'listCodebases', UnauthenticatedError],
    [status.PERMISSION_DENIED, 'denied', 'exec', PermissionDeniedError],
    [status.INVALID_ARGUMENT, 'command is required', 'exec', InvalidConfigurationError],
    [status.RESOURCE_EXHAUSTED, 'disk full', 'createSandbox', ResourceLimitExceededError],
    [status.NOT_FOUND, 'sandbox sb_1 not found', 'getSandbox', SandboxNotFoundError],
    [status.NOT_FOUND, 'not found', 'exec', SandboxNotFoundError],
    [status.NOT_FOUND, 'not found', 'startSandbox', SandboxNotFoundError],
    [status.NOT_FOUND, 'codebase cb_1 not found', 'createSandbox', CodebaseNotFoundError],
    [status.NOT_FOUND, 'not found', 'getCodebase', CodebaseNotFoundError],
    [status.NOT_FOUND, 'codebase cb_1 not found', 'uploadFile', CodebaseNotFoundError],
    [status.NOT_FOUND, 'file a/b.txt not found', 'downloadFile', FileNotFoundError],
    [status.NOT_FOUND, 'not found', 'downloadFile', FileNotFoundError],
    [status.NOT_FOUND, 'codebase cb_1 not found', 'downloadFile', CodebaseNotFoundError],
    [status.NOT_FOUND, 'directory a not found', 'listFiles', FileNotFoundError],
    [status.NOT_FOUND, 'codebase cb_1 not found', 'listFiles', CodebaseNotFoundError],
    [status.NOT_FOUND, 'session sess_1 not found', 'sessionExec', SessionNotFoundError],
    [status.NOT_FOUND, 'not found', 'destroySession', SessionNotFoundError],
    [status.FAILED_PRECONDITION, 'sandbox is not running', 'exec', SandboxNotRunningError],
    [status.FAILED_PRECONDITION, 'wrong state', 'execStream', SandboxNotRunningError],
    [status.FAILED_PRECONDITION, 'wrong state', 'createSession', SandboxNotRunningError],
    [status.FAILED_PRECONDITION, 'sandbox is not running', 'stopSandbox', SandboxNotRunningError],
    [status.FAILED_PRECONDITION, 'session is closed', 'sessionExec', SessionClosedError],
    [status.FAILED_PRECONDITION, 'sandbox is not running', 'sessionExec', SandboxNotRunningError],
    [status.DEADLINE_EXCEEDED, 'command timed out', 'exec', CommandTimeoutError],
    [status.DEADLINE_EXCEEDED, 'command timed out', 'sessionExecStream', CommandTimeoutError],
    [status.DATA_LOSS, 'truncated', 'uploadFile', UploadError],
  ];
  for (const [code, details, call, type] of table) {
    test(`${status[code]} from ${call} (${JSON.stringify(details)}) → ${type.name}`, () => {
      const err = map(code, details, call) as AgentFenseError;
      assert.equal(err.constructor, type);
      assert.ok(err instanceof AgentFenseError);
      assert.equal(err.code, code);
      assert.equal(err.serverMessage, details);
      assert.equal(err.call, call);
      assert.ok(err.message.includes(details), 'the message keeps what the server said');
      assert.equal((err as Error & { cause?: unknown }).cause instanceof Error, true);
    });
  }

  test('states that are not a typed case stay AgentFenseError with their status', () => {
    for (const [code, call] of [
      [status.FAILED_PRECONDITION, 'startSandbox'],
      [status.DEADLINE_EXCEEDED, 'getSandbox'],
      [status.INTERNAL, 'exec'],
      [status.UNIMPLEMENTED, 'createSandbox'],
    ] as const) {
      const err = map(code, 'sandbox is already running', call) as AgentFenseError;
      assert.equal(err.constructor, AgentFenseError, `${status[code]} from ${call}`);
      assert.equal(err.code, code);
    }
  });

  test('typed errors carry the resource from the call', () => {
    assert.equal((map(status.NOT_FOUND, 'x', 'getSandbox') as SandboxNotFoundError).sandboxId, 'sb_1');
    const file = map(status.NOT_FOUND, 'x', 'downloadFile') as FileNotFoundError;
    assert.deepEqual([file.codebaseId, file.filePath], ['cb_1', 'a/b.txt']);
    const timeout = map(status.DEADLINE_EXCEEDED, 'x', 'exec') as CommandTimeoutError;
    assert.deepEqual([timeout.command, timeout.timeoutMs], ['make', 1000]);
    assert.equal((map(status.UNAVAILABLE, 'x', 'exec') as ConnectionError).endpoint, 'unix:/run/af.sock');
    assert.match(
      map(status.NOT_FOUND, 'sandbox sb_1 not found', 'getSandbox').message,
      /^getSandbox: sandbox "sb_1" not found: sandbox sb_1 not found$/,
    );
  });

  test('non-gRPC errors and typed errors pass through unchanged', () => {
    const plain = new Error('boom');
    assert.equal(toAgentFenseError(plain, ctx('exec')), plain);
    const typed = new SessionClosedError('s');
    assert.equal(toAgentFenseError(typed, ctx('exec')), typed);
  });

  test('CommandExecutionError carries the result and a short message', () => {
    const result = { stdout: '', stderr: 'E'.repeat(2000), exitCode: 2, durationMs: 5 };
    const err = new CommandExecutionError('make test', result);
    assert.equal(err.result, result);
    assert.equal(err.exitCode, 2);
    assert.equal(err.code, status.OK);
    assert.ok(err.message.length < 700);
    assert.match(err.message, /^command exited with code 2: make test\nE+…$/);
  });
});
