/**
 * How the extension learns how a streamed command ended. The embedded server sends the exit
 * code (and a session's working directory) as trailers, from its own bookkeeping, which
 * sandboxed code cannot forge. AgentFense's own server sends neither: against it the command
 * is wrapped in a shell marker (exitMarker.ts), which the command itself could print.
 * vscode-free.
 */
import type { CommandOutput } from '../../client';
import { ExitMarkerParser, newNonce, wrapCommand, wrapSessionCommand } from './exitMarker';

export interface CommandEnd {
  /** undefined: the server said nothing and no marker was seen. */
  exitCode?: number;
  cwd?: string;
}

export class CommandStatus {
  private readonly marker: ExitMarkerParser | undefined;
  private readonly nonce = newNonce();

  /** `serverSendsStatus`: the server is known to send the trailers (see ../server/serverTrust.ts). */
  constructor(
    serverSendsStatus: boolean,
    private readonly kind: 'command' | 'session',
  ) {
    this.marker = serverSendsStatus ? undefined : new ExitMarkerParser(this.nonce);
  }

  /** The command to send: as typed, or wrapped to print the marker. */
  commandFor(command: string): string {
    if (!this.marker) return command;
    return this.kind === 'session' ? wrapSessionCommand(command, this.nonce) : wrapCommand(command, this.nonce);
  }

  /** Filters a stderr chunk (the marker, if any, is taken out). */
  stderr(text: string): string {
    return this.marker ? this.marker.push(text) : text;
  }

  /** Call once the output has been read to its end: what was held back, then the verdict. */
  end(output: CommandOutput): { rest: string; end: CommandEnd } {
    if (!this.marker) return { rest: '', end: { exitCode: output.exitCode, cwd: output.cwd } };
    return { rest: this.marker.end(), end: { exitCode: this.marker.marker?.exitCode, cwd: this.marker.marker?.cwd } };
  }
}
