/**
 * Agents through the sandbox, as a user sees them in code-server: VS Code's agent (a test
 * extension calling vscode.lm.invokeTool, as the chat does) runs `agentfense_run`; the run
 * shows in a terminal, the result comes back, the change appears in the review and can be
 * accepted. Then an agent outside VS Code (the MCP SDK's client spawning dist/mcp.js with
 * the window's storage folder) changes the same folder, and the open review shows it.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, afterEach, before, test } from 'node:test';
import { connectMcp } from '../helpers/mcpClient';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { useAsActivePreset } from './harness/agentfense';
import { startSession, type Session } from './harness/session';
import { waitFor } from './harness/workbench';

let vs: Session;
before(async () => {
  vs = await startSession('agents', { withAgentProbe: true });
});
after(() => vs?.stop());
afterEach((t) => vs?.screenshotIfFailed(t));

const probeFile = (name: string) => join(vs.workspace, '..', name);

interface ProbeResult {
  tools: string[];
  text?: string;
  error?: string;
  definitions?: { label: string; command: string; args: string[]; env: Record<string, string> }[];
}

async function probe(command: string, input?: unknown): Promise<ProbeResult> {
  rmSync(probeFile('probe-result.json'), { force: true });
  if (input !== undefined) writeFileSync(probeFile('probe-input.json'), JSON.stringify(input));
  await vs.runCommand(command);
  const text = await waitFor(
    `the probe's result of ${command}`,
    async () =>
      existsSync(probeFile('probe-result.json')) ? readFileSync(probeFile('probe-result.json'), 'utf8') : '',
    (t) => t !== '',
    180_000,
  );
  return JSON.parse(text) as ProbeResult;
}

/** VS Code asks before a tool runs code (outside a chat, in a dialog): the user says Yes. */
async function allowToolRun(): Promise<void> {
  const yes = vs.page.locator('.monaco-dialog-box').getByRole('button', { name: 'Yes' });
  await yes.waitFor({ timeout: 60_000 });
  assert.match(
    await vs.page.locator('.monaco-dialog-box').innerText(),
    /Run in the AgentFense sandbox\?[\s\S]*Preset development/,
  );
  await yes.click();
}

test("VS Code's agent runs agentfense_run: a visible run, a result for the model, a change to review and accept", async () => {
  await useAsActivePreset(vs, 'development');
  const result = probe('Agent Probe: Invoke Tool', {
    tool: 'agentfense_run',
    input: { command: 'cat .env; echo "from the agent $((6*7))" > agent-note.txt; echo done' },
  });
  await allowToolRun();
  const r = await result;
  assert.deepEqual(r.tools.sort(), [
    'agentfense_changes',
    'agentfense_read',
    'agentfense_request_access',
    'agentfense_run',
  ]);
  assert.equal(r.error, undefined, r.error);
  assert.match(r.text!, /exit code 0 · [\d.]+ s · preset development/);
  assert.match(r.text!, /\.env: No such file or directory/);
  assert.doesNotMatch(r.text!, /fake-secret-for-tests/);
  assert.match(r.text!, /This run changed 1 file[\s\S]*added\s+agent-note\.txt/);
  // The run was visible: its own terminal, with the command and its output.
  const shown = await vs.waitForTerminalText(/\$ cat \.env; echo[\s\S]*done[\s\S]*exit 0/, 30_000);
  assert.match(shown, /\[development · sandbox/);
  assert.ok(!existsSync(join(vs.workspace, 'agent-note.txt')), 'nothing reaches the workspace unreviewed');

  await vs.openViewContainer('Source Control');
  await waitFor(
    'agent-note.txt in the AgentFense review',
    () => vs.scmRows(),
    (rows) => rows.some((row) => row.startsWith('agent-note.txt')),
    60_000,
  );
  await vs.scmResourceAction('agent-note.txt', /^Accept/i);
  await waitFor(
    'the accepted file in the workspace',
    async () =>
      existsSync(join(vs.workspace, 'agent-note.txt'))
        ? readFileSync(join(vs.workspace, 'agent-note.txt'), 'utf8')
        : '',
    (t) => t === 'from the agent 42\n',
    30_000,
  );
  await vs.saveScreenshot('agent-tool-review');
});

test("the MCP server VS Code is offered runs as given, joins the window's server, and its change shows in the open review", async () => {
  const { definitions } = await probe('Agent Probe: MCP Definitions');
  assert.equal(definitions?.length, 1, JSON.stringify(definitions));
  const [definition] = definitions!;
  assert.equal(definition!.label, 'AgentFense (sample-workspace)');
  assert.ok(definition!.args.includes(vs.workspace), definition!.args.join(' '));
  const servers = vs.embeddedServers().length;
  // An agent outside VS Code, launched exactly as the definition says (the command Connect an Agent gives too).
  const client = await connectMcp({
    name: 'outside-agent',
    command: definition!.command,
    args: definition!.args,
    env: { ...process.env, ...definition!.env } as Record<string, string>,
  });
  try {
    const r = (await client.callTool(
      { name: 'run', arguments: { command: 'echo "via mcp" > from-mcp.txt' } },
      undefined,
      { timeout: 180_000 },
    )) as CallToolResult;
    const text = r.content.map((c) => (c.type === 'text' ? c.text : '')).join('');
    assert.equal(r.isError, false, text);
    // No preset named: the one the user chose in this window (development), mirrored for agents.
    assert.match(text, /preset development/);
    assert.match(text, /added\s+from-mcp\.txt/);
  } finally {
    await client.close();
  }
  assert.equal(vs.embeddedServers().length, servers, "the MCP server joined the window's embedded server");
  await vs.openViewContainer('Source Control');
  await waitFor(
    'from-mcp.txt in the open review',
    () => vs.scmRows(),
    (rows) => rows.some((row) => row.startsWith('from-mcp.txt')),
    60_000,
  );
  assert.ok(!existsSync(join(vs.workspace, 'from-mcp.txt')));
});
