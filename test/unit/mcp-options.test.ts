// The MCP server's command line (src/mcp/mcpOptions.ts).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defaultStorageDir, parseMcpOptions, UsageError } from '../../src/mcp/mcpOptions';

describe('parseMcpOptions', () => {
  it('defaults: the current directory, the per-user storage, each preset’s network, the folder’s preset', () => {
    assert.deepEqual(parseMcpOptions([], '/work/p'), {
      workspace: '/work/p',
      storageDir: defaultStorageDir(),
    });
    assert.equal(defaultStorageDir({ XDG_STATE_HOME: '/s' }), '/s/agentfense');
  });

  it('reads every flag, resolving paths against the current directory', () => {
    assert.deepEqual(
      parseMcpOptions(
        [
          '--workspace',
          'app',
          '--preset',
          'development',
          '--storage-dir',
          '../st',
          '--endpoint',
          'unix:/x.sock',
          '--network',
          'on',
        ],
        '/work/p',
      ),
      {
        workspace: '/work/p/app',
        preset: 'development',
        storageDir: '/work/st',
        endpoint: 'unix:/x.sock',
        network: 'on',
      },
    );
    assert.equal(parseMcpOptions(['--help']), 'help');
  });

  it('says what is wrong with a bad command line', () => {
    assert.throws(() => parseMcpOptions(['--workspace']), new UsageError('--workspace needs a value'));
    assert.throws(() => parseMcpOptions(['--network', 'maybe']), /--network is on or off/);
    assert.throws(() => parseMcpOptions(['--verbose', 'x']), /unknown option --verbose/);
  });
});
