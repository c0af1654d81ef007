// Lint: the layer boundaries (ARCHITECTURE.md) as errors, so a wrong import fails `npm test`
// instead of waiting for a reviewer. shared ← client, server; client, shared ← extension, views.
// Only the extension and its views may import `vscode`; the server never imports the client
// (and vice versa): they meet only on the wire (proto/ → src/generated).
import tseslint from 'typescript-eslint';

const VSCODE = { name: 'vscode', message: 'only src/extension and src/views may import vscode: this layer also runs outside the editor' };
const layer = (name, message) => ({ group: [`**/${name}`, `**/${name}/**`], message });
const EXTENSION = layer('extension', 'the extension depends on this layer, not the other way round');
const VIEWS = layer('views', 'the extension\'s views depend on this layer, not the other way round');
const SERVER = layer('server', 'the server is reached over gRPC (src/generated), never imported');
const CLIENT = layer('client', 'the client is reached over gRPC (src/generated), never imported');

const restrict = (paths, patterns) => ({ 'no-restricted-imports': ['error', { paths, patterns }] });

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
  { files: ['src/shared/**/*.ts'], rules: restrict([VSCODE], [EXTENSION, VIEWS, SERVER, CLIENT]) },
  { files: ['src/client/**/*.ts'], rules: restrict([VSCODE], [EXTENSION, VIEWS, SERVER]) },
  { files: ['src/server/**/*.ts'], rules: restrict([VSCODE], [EXTENSION, VIEWS, CLIENT]) },
  { files: ['src/extension/**/*.ts', 'src/views/**/*.ts'], rules: restrict([], [SERVER]) },
);
