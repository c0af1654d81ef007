// Lint: the layer boundaries (ARCHITECTURE.md) as errors, so a wrong import fails `npm test`
// instead of waiting for a reviewer. shared ← client, server; client, shared ← extension.
// Only the extension may import `vscode`; the server never imports the client (and vice
// versa): they meet only on the wire (proto/ → src/generated).
import tseslint from 'typescript-eslint';

const restrict = (paths, patterns) => ({ 'no-restricted-imports': ['error', { paths, patterns }] });
const VSCODE = { name: 'vscode', message: 'only src/extension may import vscode: this layer also runs outside the editor' };
const layer = (name, message) => ({ group: [`**/${name}`, `**/${name}/**`], message });
const EXTENSION = layer('extension', 'the extension depends on this layer, not the other way round');
const SERVER = layer('server', 'the server is reached over gRPC (src/generated), never imported');
const CLIENT = layer('client', 'the client is reached over gRPC (src/generated), never imported');
// The extension has a server/ folder of its own (connecting to the server, starting the embedded
// one), so `**/server` would refuse it: from a file `depth` folders below src/, src/server is
// `../` × depth + `server` (more `../` leave src/ and cannot be allowed either). Below four
// folders the plain pattern applies again, refusing any `server` folder.
const SERVER_FROM = (depth) => ({ regex: `^(\\.\\./){${depth},}server(/|$)`, message: SERVER.message });
const EXTENSION_BY_DEPTH = [1, 2, 3, 4].map((depth) => ({
  files: [['src/extension', ...Array(depth - 1).fill('*'), '*.ts'].join('/')],
  rules: restrict([], [SERVER_FROM(depth)]),
}));

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
  { files: ['src/shared/**/*.ts'], rules: restrict([VSCODE], [EXTENSION, SERVER, CLIENT]) },
  { files: ['src/client/**/*.ts'], rules: restrict([VSCODE], [EXTENSION, SERVER]) },
  { files: ['src/server/**/*.ts'], rules: restrict([VSCODE], [EXTENSION, CLIENT]) },
  ...EXTENSION_BY_DEPTH,
  { files: ['src/extension/*/*/*/*/**/*.ts'], rules: restrict([], [SERVER]) },
);
