/**
 * A program sandboxes run but cannot read: its execute-only copy in the data dir
 * (executeOnlyCopy.ts), installed when the server starts from where the build (or the host)
 * has it, and the FAILED_PRECONDITION that says how to get it when it is not there. The
 * terminal helper, the egress forwarder, the Docker runner and strace are each one.
 */
import * as fs from 'node:fs';
import { join } from 'node:path';
import type { SandboxIdentity } from '../sandboxIdentity';
import { installExecuteOnly } from './executeOnlyCopy';
import { failedPrecondition, type RpcError } from '../../rpc/rpcError';

export class InstalledProgram {
  /** `source`: where it comes from; `name`: its copy's name in the data dir; `howToGet`: the missing error's text. */
  constructor(
    readonly source: string,
    private readonly name: string,
    private readonly howToGet: string,
  ) {}

  /** The host path of the execute-only copy. */
  path(dataDir: string): string {
    return join(dataDir, this.name);
  }

  /** (Re)installs the copy; false when there is nothing to copy (the server still runs; its users get `missing()`). */
  install(dataDir: string, identity: SandboxIdentity): boolean {
    if (!fs.existsSync(this.source)) return false;
    installExecuteOnly(this.source, this.path(dataDir), identity);
    return true;
  }

  isInstalled(dataDir: string): boolean {
    return fs.existsSync(this.path(dataDir));
  }

  missing(): RpcError {
    return failedPrecondition(this.howToGet);
  }
}

/** A static helper scripts/build.mjs compiles next to dist/server.js from `sourceFile`. */
export function builtHelper(name: string, sourceFile: string, neededFor: string): InstalledProgram {
  const built = join(__dirname, name);
  return new InstalledProgram(
    built,
    name,
    `${neededFor} needs ${built}; rebuild the server with \`node scripts/build.mjs\` ` +
      `(it compiles ${sourceFile} and needs a C compiler: apt-get install -y gcc libc6-dev)`,
  );
}
