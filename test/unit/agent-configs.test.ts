// What "Connect an Agent…" gives each agent (src/extension/agents/agentConfigs.ts, vscode-free).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { agentConfig, mergeMcpJson } from '../../src/extension/agents/agentConfigs';

const launch = {
  command: '/usr/bin/node',
  args: ['/ext/dist/mcp.js', '--workspace', "/home/me/it's here", '--storage-dir', '/home/me/.storage'],
  env: { ELECTRON_RUN_AS_NODE: '1' },
};

describe('agentConfig', () => {
  it('Claude Code: one `claude mcp add` line, quoted for a shell', () => {
    assert.equal(
      agentConfig('claude-code', launch).snippet,
      "claude mcp add agentfense -e ELECTRON_RUN_AS_NODE=1 -- /usr/bin/node /ext/dist/mcp.js --workspace '/home/me/it'\\''s here' --storage-dir /home/me/.storage",
    );
  });

  it('Cursor and Cline: an mcpServers entry', () => {
    for (const agent of ['cursor', 'cline'] as const) {
      assert.deepEqual(JSON.parse(agentConfig(agent, launch).snippet), {
        mcpServers: { agentfense: { command: '/usr/bin/node', args: launch.args, env: launch.env } },
      });
    }
  });

  it('Codex CLI: a [mcp_servers.agentfense] table', () => {
    assert.equal(
      agentConfig('codex', launch).snippet,
      [
        '[mcp_servers.agentfense]',
        'command = "/usr/bin/node"',
        'args = ["/ext/dist/mcp.js", "--workspace", "/home/me/it\'s here", "--storage-dir", "/home/me/.storage"]',
        'env = { ELECTRON_RUN_AS_NODE = "1" }',
      ].join('\n'),
    );
  });
});

describe('mergeMcpJson', () => {
  it("keeps the file's other servers and keys, and replaces only ours", () => {
    const existing = JSON.stringify({
      mcpServers: { other: { command: 'x' }, agentfense: { command: 'old' } },
      keep: 1,
    });
    const merged = JSON.parse(mergeMcpJson(existing, launch));
    assert.deepEqual(Object.keys(merged.mcpServers).sort(), ['agentfense', 'other']);
    assert.equal(merged.mcpServers.agentfense.command, '/usr/bin/node');
    assert.equal(merged.keep, 1);
    assert.deepEqual(Object.keys(JSON.parse(mergeMcpJson(undefined, launch)).mcpServers), ['agentfense']);
  });

  it('refuses to overwrite a file it cannot read', () => {
    assert.throws(() => mergeMcpJson('{ not json', launch));
    assert.throws(() => mergeMcpJson('[1]', launch), /not a JSON object/);
  });
});
