/** The Docker runtime's runner (containerInit.c, built to dist/agentfense-init): its execute-only copy in the data dir. */
import * as fs from 'node:fs';
import { join } from 'node:path';
import type { SandboxIdentity } from '../sandboxIdentity';
import { installExecuteOnly } from '../runtime/executeOnlyCopy';
import { failedPrecondition, type RpcError } from '../../rpc/rpcError';

const INIT_BUILT = join(__dirname, 'agentfense-init');

export function containerInitPath(dataDir: string): string {
  return join(dataDir, 'agentfense-init');
}

/** Installs the runner's execute-only copy; false when the build has none. */
export function installContainerInit(dataDir: string, identity: SandboxIdentity): boolean {
  if (!fs.existsSync(INIT_BUILT)) return false;
  installExecuteOnly(INIT_BUILT, containerInitPath(dataDir), identity);
  return true;
}

export function missingContainerInit(): RpcError {
  return failedPrecondition(
    `a Docker sandbox needs ${INIT_BUILT}; rebuild the server with \`node scripts/build.mjs\` ` +
      '(it compiles src/server/sandbox/docker/containerInit.c and needs a C compiler: apt-get install -y gcc libc6-dev)',
  );
}
