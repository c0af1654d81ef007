// convert.ts: generated messages ↔ the client's plain types.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  durationToMs,
  execOutputFromProto,
  msToDuration,
  ruleFromProto,
  rulesToProto,
  sandboxFromProto,
  sessionFromProto,
} from '../../src/client/convert';
import { PatternType, Permission, SandboxStatus, SessionStatus } from '../../src/generated/common';
import { ExecOutput_OutputType, RuntimeType } from '../../src/generated/sandbox';

describe('convert', () => {
  test('rules round-trip through the enums', () => {
    const rules = [
      { pattern: '/a', permission: 'none', type: 'file', priority: 1 },
      { pattern: '/b/', permission: 'view', type: 'directory', priority: -2 },
      { pattern: '**/*.md', permission: 'read', type: 'glob', priority: 0 },
      { pattern: '/out/**', permission: 'write', type: 'glob', priority: 10 },
    ] as const;
    const wire = rulesToProto(rules);
    assert.deepEqual(
      wire.map((r) => [r.permission, r.type]),
      [
        [Permission.PERMISSION_NONE, PatternType.PATTERN_TYPE_FILE],
        [Permission.PERMISSION_VIEW, PatternType.PATTERN_TYPE_DIRECTORY],
        [Permission.PERMISSION_READ, PatternType.PATTERN_TYPE_GLOB],
        [Permission.PERMISSION_WRITE, PatternType.PATTERN_TYPE_GLOB],
      ],
    );
    assert.deepEqual(wire.map(ruleFromProto), rules);
  });

  test('unknown enum values decode like the SDK: none, glob, pending, bwrap', () => {
    assert.deepEqual(
      ruleFromProto({
        pattern: 'x',
        type: PatternType.PATTERN_TYPE_UNSPECIFIED,
        permission: 99 as Permission,
        priority: 0,
      }),
      {
        pattern: 'x',
        type: 'glob',
        permission: 'none',
        priority: 0,
      },
    );
    const sb = sandboxFromProto({
      id: 's',
      codebaseId: 'c',
      permissions: [],
      status: SandboxStatus.SANDBOX_STATUS_UNSPECIFIED,
      labels: {},
      createdAt: new Date(0),
      startedAt: undefined,
      stoppedAt: undefined,
      expiresAt: new Date(5000),
      runtime: RuntimeType.RUNTIME_TYPE_UNSPECIFIED,
      image: '',
      resources: { memoryBytes: 0, cpuQuota: 0, cpuShares: 0, pidsLimit: 0 },
    });
    assert.equal(sb.status, 'pending');
    assert.equal(sb.runtime, 'bwrap');
    assert.equal(sb.image, undefined);
    assert.equal(sb.resources, undefined, 'all-zero limits mean none');
    assert.equal(sb.createdAt, undefined, 'the epoch means unset');
    assert.equal(sb.expiresAt!.getTime(), 5000);
    assert.equal(
      sessionFromProto({
        id: 'x',
        sandboxId: 's',
        status: SessionStatus.SESSION_STATUS_CLOSED,
        shell: '/bin/sh',
        createdAt: undefined,
        closedAt: undefined,
      }).status,
      'closed',
    );
  });

  test('durations are milliseconds in the API', () => {
    assert.deepEqual(msToDuration(1500), { seconds: 1, nanos: 500_000_000 });
    assert.deepEqual(msToDuration(0.25), { seconds: 0, nanos: 250_000 });
    assert.equal(durationToMs({ seconds: 2, nanos: 5_000_000 }), 2005);
    assert.equal(durationToMs(undefined), 0);
  });

  test('exec output: stderr is stderr, anything else stdout', () => {
    assert.equal(
      execOutputFromProto({ type: ExecOutput_OutputType.OUTPUT_TYPE_STDERR, data: Buffer.from('e') }).stream,
      'stderr',
    );
    assert.equal(
      execOutputFromProto({ type: ExecOutput_OutputType.OUTPUT_TYPE_UNSPECIFIED, data: Buffer.from('o') }).stream,
      'stdout',
    );
  });
});
