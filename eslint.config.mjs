// Lint: the layer boundaries (ARCHITECTURE.md) as errors, so a wrong import fails `npm test`
// instead of waiting for a reviewer: shared ← core ← client / cloud ← extension (and client ← mcp), and shared ← server.
// Only the extension may import `vscode`; the server never imports the client or the core (and
// vice versa): they meet only on the wire (proto/ → src/generated). Inside the extension, the
// capability folders (upload, presets, run, review) use server/ and the root files, never
// each other: what they share goes through the context.
import tseslint from 'typescript-eslint';

const restrict = (paths, patterns) => ({ 'no-restricted-imports': ['error', { paths, patterns }] });
const VSCODE = {
  name: 'vscode',
  message: 'only src/extension may import vscode: this layer also runs outside the editor',
};
const layer = (name, message) => ({ group: [`**/${name}`, `**/${name}/**`], message });
const EXTENSION = layer('extension', 'the extension depends on this layer, not the other way round');
const SERVER = layer('server', 'the server is reached over gRPC (src/generated), never imported');
const CLIENT = layer('client', 'the client is reached over gRPC (src/generated), never imported');
const CLIENT_FROM_CORE = layer(
  'client',
  'the core sees backends only through SandboxBackend (core/backend.ts); the client implements it',
);
const CLOUD = layer('cloud', 'the cloud backend sits beside the client: the extension chooses one (context.ts)');
const CLIENT_FROM_CLOUD = layer(
  'client',
  'the cloud backend speaks E2B\'s protocol; what it shares with the gRPC client lives in the core or shared',
);
const CORE = layer(
  'core',
  'the core serves the extension, the bench and agents; the server does not use it, and shared is below it',
);
// The extension has a server/ folder of its own (connecting to the server, starting the embedded
// one), so `**/server` would refuse it: from a file `depth` folders below src/, src/server is
// `../` × depth + `server` (more `../` leave src/ and cannot be allowed either). Below four
// folders the plain pattern applies again, refusing any `server` folder.
const SERVER_FROM = (depth) => ({ regex: `^(\\.\\./){${depth},}server(/|$)`, message: SERVER.message });
const EXTENSION_BY_DEPTH = [1, 2, 3, 4].map((depth) => ({
  files: [['src/extension', ...Array(depth - 1).fill('*'), '*.ts'].join('/')],
  rules: restrict([], [SERVER_FROM(depth)]),
}));

const CAPABILITIES = ['upload', 'presets', 'run', 'review', 'agents', 'denials', 'cloud'];
// The one layering among capabilities: an agent's run is a run (a visible run terminal).
const BUILT_ON = { agents: ['run', 'denials'] };
// `../<other>/…` from a capability folder: the sibling's files are its own business.
const SIBLINGS = (own) =>
  CAPABILITIES.filter((c) => c !== own && !(BUILT_ON[own] ?? []).includes(c)).map((c) => ({
    group: [`../${c}`, `../${c}/**`],
    message: `extension/${own} does not import extension/${c}: capabilities meet through the context (context.ts) and their events`,
  }));
const CAPABILITY_RULES = CAPABILITIES.map((c) => ({
  files: [`src/extension/${c}/*.ts`],
  rules: restrict([], [SERVER_FROM(2), ...SIBLINGS(c)]),
}));
const SERVER_CAPABILITY = {
  files: ['src/extension/server/*.ts'],
  rules: restrict(
    [],
    [
      SERVER_FROM(2),
      ...CAPABILITIES.map((c) => ({
        group: [`../${c}`, `../${c}/**`],
        message: 'extension/server is below the capabilities: it imports none of them',
      })),
    ],
  ),
};

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'src/generated/**', 'test-results/**', '**/*.mjs', '**/*.js'] },
  {
    files: ['**/*.ts'],
    languageOptions: { parser: tseslint.parser },
    plugins: { '@typescript-eslint': tseslint.plugin },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
    },
  },
  { files: ['src/shared/**/*.ts'], rules: restrict([VSCODE], [EXTENSION, SERVER, CLIENT, CORE, CLOUD]) },
  { files: ['src/core/**/*.ts'], rules: restrict([VSCODE], [EXTENSION, SERVER, CLIENT_FROM_CORE, CLOUD]) },
  { files: ['src/client/**/*.ts'], rules: restrict([VSCODE], [EXTENSION, SERVER, CLOUD]) },
  // Cloud sandboxes (E2B's protocol): beside the client, on the core; never the gRPC client or the server.
  { files: ['src/cloud/**/*.ts'], rules: restrict([VSCODE], [EXTENSION, SERVER, CLIENT_FROM_CLOUD]) },
  { files: ['src/server/**/*.ts'], rules: restrict([VSCODE], [EXTENSION, CLIENT, CORE, CLOUD]) },
  // The MCP server: an entry point beside the extension, on the core and the client.
  // (By relative path: the MCP SDK's own `…/sdk/server/mcp.js` is not our server.)
  { files: ['src/mcp/*.ts'], rules: restrict([VSCODE], [EXTENSION, SERVER_FROM(1)]) },
  ...EXTENSION_BY_DEPTH,
  ...CAPABILITY_RULES,
  SERVER_CAPABILITY,
  { files: ['src/extension/*/*/*/*/**/*.ts'], rules: restrict([], [SERVER]) },
);
