/**
 * TerminalService.OpenTerminal (agentfense.ext.v1, our extension): an interactive terminal
 * in a running sandbox over one bidirectional call. The first message opens it; input that
 * arrives while it opens is kept, in order. Backpressure both ways: a slow client pauses the
 * shell's output, a shell that does not read pauses the call.
 */
import { status, type ServerDuplexStream } from '@grpc/grpc-js';
import type { TerminalInput, TerminalOutput, TerminalServiceServer } from '../../generated/terminal';
import { invalidArgument, RpcError, toRpcError } from '../rpc/rpcError';
import { requireField } from '../rpc/requiredField';
import { newSessionId } from './ids';
import type { SandboxManager } from './sandboxManager';
import type { PtyTerminal } from './runtime/ptyTerminal';
import { validShell } from './shellPath';

const DEFAULT_ROWS = 24;
const DEFAULT_COLS = 80;

export function createTerminalService(manager: SandboxManager): TerminalServiceServer {
  return { openTerminal: (call) => serveTerminal(manager, call) };
}

/** A size on the wire: 0 is the default; otherwise 1..65535 (a terminal's size is 16-bit). */
function terminalSize(value: number, name: string, fallback: number): number {
  if (value === 0) return fallback;
  if (value > 0xffff) throw invalidArgument(`${name} is ${value}; a terminal has at most 65535 ${name}`);
  return value;
}

function serveTerminal(manager: SandboxManager, call: ServerDuplexStream<TerminalInput, TerminalOutput>): void {
  let terminal: PtyTerminal | undefined;
  let opening = false;
  /** Input and resizes received while the terminal opens. */
  const early: TerminalInput[] = [];
  /** Nothing more can be said on the call (it ended, failed or was cancelled). */
  let finished = false;

  const send = (m: TerminalOutput): boolean => (finished ? true : call.write(m));
  const finish = (err?: unknown) => {
    if (finished) return;
    finished = true;
    terminal?.close();
    if (err) call.emit('error', toRpcError(err).toServiceError());
    else call.end();
  };
  const apply = (m: TerminalInput) => {
    if (m.open) throw invalidArgument('the terminal is already open: `open` is the first message only');
    if (m.input) {
      if (!terminal!.write(m.input)) {
        call.pause();
        terminal!.onceInputDrain(() => call.resume());
      }
    } else if (m.resize) {
      terminal!.resize(terminalSize(m.resize.rows, 'rows', 0), terminalSize(m.resize.cols, 'cols', 0)); // 0: unchanged
    }
  };
  const open = async (m: TerminalInput) => {
    const o = m.open;
    if (!o) throw invalidArgument('the first message must be `open` (which sandbox, shell and size)');
    const sandbox = manager.running(requireField(o.sandboxId, 'sandbox_id'));
    terminal = await sandbox.openTerminal(
      {
        id: newSessionId(),
        shell: validShell(o.shell),
        rows: terminalSize(o.rows, 'rows', DEFAULT_ROWS),
        cols: terminalSize(o.cols, 'cols', DEFAULT_COLS),
        env: { ...o.env },
        workdir: o.workdir,
      },
      {
        output: (data) => {
          if (send({ output: data, merged: undefined, exited: undefined })) return true;
          call.once('drain', () => terminal?.resume());
          return false;
        },
        merged: (pathsMerged, notes) =>
          void send({ output: undefined, merged: { pathsMerged, notes }, exited: undefined }),
        ended: (exitCode, problem) => {
          if (problem) return finish(new RpcError(status.ABORTED, `the terminal ended: ${problem}`));
          send({ output: undefined, merged: undefined, exited: { exitCode } });
          finish();
        },
      },
    );
    if (finished) return terminal.close(); // the client left while it opened
    for (const e of early.splice(0)) apply(e);
  };

  call.on('data', (m: TerminalInput) => {
    if (finished) return;
    try {
      if (terminal) apply(m);
      else if (opening) early.push(m);
      else {
        opening = true;
        open(m).catch(finish);
      }
    } catch (err) {
      finish(err);
    }
  });
  // The client half-closed or left: hang the terminal up.
  call.on('end', () => finish());
  call.on('cancelled', () => {
    finished = true;
    terminal?.close();
  });
  call.on('error', () => {
    finished = true;
    terminal?.close();
  });
}
