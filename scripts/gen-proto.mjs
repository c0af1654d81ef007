// Regenerates src/generated/ from proto/ (ts-proto, and protoc-gen-es for E2B's envd, through buf; all from
// npm; no network).
// The generated code is never edited by hand and never committed.
import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const buf = join(root, 'node_modules', '.bin', 'buf');
// sandbox.v1 and our extensions with ts-proto (grpc-js services)...
execFileSync(buf, ['generate', '--exclude-path', 'proto/e2b'], { cwd: root, stdio: 'inherit' });
// ...and E2B's envd with protoc-gen-es (Connect services for the E2B front), into src/generated/envd/.
execFileSync(buf, ['generate', '--template', 'buf.gen.envd.yaml', '--path', 'proto/e2b'], {
  cwd: root,
  stdio: 'inherit',
});
