/**
 * The tools the MCP server offers, on the official SDK: `run`, `changes`, `read_file`,
 * `request_access` (the user decides, through the client's elicitation), `list_presets`. Each answers text a model can act on; a failure is a tool error that says
 * what to do, never a crash of the server. A long run sends progress notifications; a
 * cancelled request cancels the command (the server kills its process tree).
 */
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { RequestHandlerExtra } from '@modelcontextprotocol/sdk/shared/protocol.js';
import type { CallToolResult, ServerNotification, ServerRequest } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { AUDIT_PARAMETER, describeChanges, describeRun, SANDBOX_SUMMARY, capText } from '../core/agent/agentReport';
import { explainAgentError } from '../client/agentErrors';
import {
  ACCESS_CHOICES,
  accessQuestion,
  alreadyAllowed,
  deniedAnswer,
  planAccess,
  type AccessDecision,
} from '../core/agent/accessRequest';
import { describeGrant } from '../core/denials/accessGrant';
import { GRANTABLE_LEVELS } from '../shared/denialWire';
import type { McpWorkspace } from './mcpWorkspace';

/** A run without a timeout the agent chose ends after this. */
export const DEFAULT_TIMEOUT_SECONDS = 600;
const PROGRESS_EVERY_MS = 2000;

type Extra = RequestHandlerExtra<ServerRequest, ServerNotification>;

const text = (t: string, isError = false): CallToolResult => ({ content: [{ type: 'text', text: t }], isError });

async function answer(work: () => Promise<string>): Promise<CallToolResult> {
  try {
    return text(await work());
  } catch (e) {
    return text(explainAgentError(e), true);
  }
}

/** Progress notifications while `work` runs, when the client asked for them (a progress token). */
async function withProgress<T>(extra: Extra, label: () => string, work: () => Promise<T>): Promise<T> {
  const token = extra._meta?.progressToken;
  if (token === undefined) return work();
  const started = Date.now();
  let tick = 0;
  const timer = setInterval(() => {
    tick++;
    void extra
      .sendNotification({
        method: 'notifications/progress',
        params: {
          progressToken: token,
          progress: tick,
          message: `${label()} (${Math.round((Date.now() - started) / 1000)} s)`,
        },
      })
      .catch(() => undefined);
  }, PROGRESS_EVERY_MS);
  try {
    return await work();
  } finally {
    clearInterval(timer);
  }
}

export function registerTools(server: McpServer, ws: McpWorkspace): void {
  server.registerTool(
    'run',
    {
      title: 'Run a command in the sandbox',
      description:
        `Run a shell command (bash -c) in the workspace's sandbox and get its exit code, output and the files it changed. ${SANDBOX_SUMMARY} ` +
        'The workspace is synced into the sandbox first (only what changed). Use it for builds, tests, scripts and inspection; ' +
        'a command that needs a secret or the network may fail by design: say so rather than working around it.',
      inputSchema: {
        command: z.string().min(1).describe('The shell command, e.g. "npm test" or "ls -la src"'),
        preset: z
          .string()
          .optional()
          .describe('Permission preset (see list_presets); default: the one the user chose for this folder'),
        timeout_seconds: z
          .number()
          .int()
          .min(1)
          .max(86_400)
          .optional()
          .describe(`Kill the command after this many seconds (default ${DEFAULT_TIMEOUT_SECONDS})`),
        cwd: z.string().optional().describe('Working directory, relative to /workspace (default: /workspace)'),
        audit: z.boolean().optional().describe(AUDIT_PARAMETER),
      },
      annotations: { readOnlyHint: false, destructiveHint: false, openWorldHint: false },
    },
    async ({ command, preset, timeout_seconds, cwd, audit }, extra) => {
      let step = 'syncing the workspace';
      return answer(async () => {
        const outcome = await withProgress(
          extra,
          () => step,
          () =>
            ws.agent.run({
              command,
              preset,
              cwd,
              timeoutMs: (timeout_seconds ?? DEFAULT_TIMEOUT_SECONDS) * 1000,
              signal: extra.signal,
              onStep: (m) => (step = m),
              audit,
            }),
        );
        return describeRun(command, outcome);
      });
    },
  );

  server.registerTool(
    'changes',
    {
      title: 'List the sandbox changes waiting for review',
      description:
        "List the files the sandbox changed that wait for the user's review (added, modified, deleted, with sizes). " +
        "They are not in the user's workspace until the user accepts them in VS Code's AgentFense review.",
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
    async (extra) => answer(async () => describeChanges(await ws.agent.pendingChanges(extra.signal))),
  );

  server.registerTool(
    'read_file',
    {
      title: 'Read a file as the sandbox sees it',
      description:
        'Read a file from the sandbox (including changes not yet accepted), as a command in the sandbox reads it: ' +
        'files the preset hides are absent. Paths are relative to /workspace.',
      inputSchema: {
        path: z.string().min(1).describe('e.g. "src/index.ts" or "/workspace/dist/out.txt"'),
        preset: z.string().optional().describe('Permission preset; default: the one the user chose for this folder'),
      },
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
    async ({ path, preset }, extra) =>
      answer(async () => {
        const r = await ws.agent.readFile(path, { preset, signal: extra.signal });
        if (r.exitCode !== 0)
          throw new Error(`cannot read ${path} in the sandbox: ${r.stderr.trim() || `exit ${r.exitCode}`}`);
        return capText(r.stdout);
      }),
  );

  server.registerTool(
    'request_access',
    {
      title: 'Ask the user for access the preset refuses',
      description:
        'Ask the user to let the sandbox view, read or write one path the preset hides or protects (a run with audit says which). ' +
        'The user decides: allow once (runs your command with the access, once), allow for the workspace (adds a rule), or deny. ' +
        'You never change the policy yourself. Give the command you want to run with it, and a short honest reason.',
      inputSchema: {
        path: z
          .string()
          .min(1)
          .describe('The path, relative to /workspace or absolute under it, e.g. ".env" or "docs/spec.md"'),
        access: z.enum(GRANTABLE_LEVELS).describe('view: list it; read: read its content; write: change it'),
        reason: z.string().min(1).max(500).describe('Why you need it, for the user to judge'),
        command: z.string().min(1).optional().describe('The command to run with the access (needed to allow once)'),
      },
      annotations: { readOnlyHint: false, destructiveHint: false, openWorldHint: false },
    },
    async (req, extra) =>
      answer(async () => {
        const preset = ws.activePreset();
        const plan = planAccess(req, ws.presets().rulesOf(preset));
        if (plan.kind === 'allowed') return alreadyAllowed(plan, preset);
        if (!server.server.getClientCapabilities()?.elicitation)
          throw new Error(
            `this MCP client cannot ask the user (it does not support elicitation). Ask the user to allow ${plan.grant.rule.permission} of /workspace/${plan.path}: in VS Code, from AgentFense's Denials view after an audited run, or with a rule in .agentfense/presets.json.`,
          );
        const choices: AccessDecision[] = req.command ? ['once', 'workspace', 'deny'] : ['workspace', 'deny'];
        const reply = await server.server.elicitInput(
          {
            message: accessQuestion(req, plan.grant, preset),
            requestedSchema: {
              type: 'object',
              properties: {
                decision: {
                  type: 'string',
                  title: 'Your decision',
                  enum: choices,
                  enumNames: choices.map((c) => ACCESS_CHOICES[c]),
                },
              },
              required: ['decision'],
            },
          },
          { signal: extra.signal },
        );
        const decision = reply.action === 'accept' ? (reply.content?.decision as AccessDecision | undefined) : 'deny';
        if (!decision || decision === 'deny' || !choices.includes(decision)) return deniedAnswer(plan.grant);
        let note: string;
        if (decision === 'workspace') {
          const into = await ws.allowForWorkspace(plan.grant);
          note = `The user allowed ${describeGrant(plan.grant)} for this workspace: preset "${into}" in .agentfense/presets.json has the rule, and your runs use it.`;
          if (!req.command) return note;
        } else note = 'The user allowed it once, for this command:';
        const outcome = await ws.agent.run({
          command: req.command!,
          grant: decision === 'once' ? plan.grant : undefined,
          timeoutMs: DEFAULT_TIMEOUT_SECONDS * 1000,
          signal: extra.signal,
          audit: true,
        });
        return `${note}\n${describeRun(req.command!, outcome)}`;
      }),
  );

  server.registerTool(
    'list_presets',
    {
      title: 'List the permission presets',
      description:
        'List the permission presets a run can use (which paths are hidden, read-only or writable), and the one in effect by default.',
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
    async () =>
      answer(async () => {
        const active = ws.activePreset();
        const lines = ws.presets().entries.map((e) => {
          const mark = e.name === active ? ' (default)' : '';
          const what = e.error ? `invalid: ${e.error}` : e.description;
          return `- ${e.name}${mark}: ${what}`;
        });
        return lines.join('\n');
      }),
  );
}
