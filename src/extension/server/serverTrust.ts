/** What the extension knows of the connected server's stream trailers. vscode-free. */
import type { CommandOutput } from '../../client';

/**
 * Whether the connected server sends exit-code trailers: the embedded one does; a remote one
 * is trusted to once a stream of its has ended with one.
 */
export class ServerTrust {
  private sends: boolean;

  constructor(embedded: boolean) {
    this.sends = embedded;
  }

  get sendsStatus(): boolean {
    return this.sends;
  }

  learnFrom(output: CommandOutput): void {
    if (output.exitCode !== undefined) this.sends = true;
  }
}
