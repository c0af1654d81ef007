/**
 * envd's `process.Process` service on this server's sandboxes. `Start` runs `cmd args…` as a
 * sandbox command (quoted, never re-parsed: `exec cmd args`), in the caller's directory (under
 * /workspace) with the sandbox's and the call's environment, and streams E2B's events: start
 * (with a pid of this front's numbering), each chunk of stdout and stderr, the end with the
 * exit code. Its changes are merged when it ends, like any command's. A process outlives the
 * stream that started it (E2B's background commands): `Connect` listens to it again, `List`
 * lists the running ones, `SendSignal` kills its tree, `SendInput`/`StreamInput`/`CloseStdin`
 * feed its stdin when it was started with one. PTYs (`pty`, `Update`) are not offered.
 */
import { Code, ConnectError, type HandlerContext, type ServiceImpl } from '@connectrpc/connect';
import { PassThrough } from 'node:stream';
import type { MessageInitShape } from '@bufbuild/protobuf';
import {
  Process,
  type ProcessConfig,
  type ProcessSelector,
  type ProcessEventSchema,
} from '../../generated/envd/e2b/envd/process/process_pb';
import type { LiveSandbox } from '../sandbox/liveSandbox';
import { sandboxWorkdir } from '../sandbox/runtime/bwrapArgs';
import { shellCommand } from '../../shared/shellQuote';
import { EventQueue } from './eventQueue';
import { toConnectError } from './connectErrors';

type ProcessEventInit = MessageInitShape<typeof ProcessEventSchema>;

/** How the services find the sandbox a call is for (E2b-Sandbox-Id and X-Access-Token, checked). */
export type SandboxOfCall = (ctx: HandlerContext) => {
  live: LiveSandbox;
  sandboxId: string;
  envs: Record<string, string>;
};

interface RunningProcess {
  pid: number;
  config: { cmd: string; args: string[]; envs: Record<string, string>; cwd?: string };
  tag?: string;
  stdin?: PassThrough;
  abort: AbortController;
  /** The streams listening; the command pauses while any is far behind. */
  listeners: Set<EventQueue<ProcessEventInit>>;
}

/** Every 50 s without output, a keepalive event (the SDK asks for one with Keepalive-Ping-Interval). */
const KEEPALIVE_MS = 50_000;

export class ProcessTable {
  private nextPid = 1000;
  private readonly bySandbox = new Map<string, Map<number, RunningProcess>>();

  constructor(private readonly sandboxOf: SandboxOfCall) {}

  service(): ServiceImpl<typeof Process> {
    return {
      start: (req, ctx) => this.start(req.process, req.tag, req.stdin ?? true, req.pty !== undefined, ctx),
      connect: (req, ctx) => this.connect(req.process, ctx),
      list: (_req, ctx) => {
        const { sandboxId } = this.call(ctx);
        return {
          processes: [...(this.bySandbox.get(sandboxId)?.values() ?? [])].map((p) => ({
            config: p.config,
            pid: p.pid,
            ...(p.tag === undefined ? {} : { tag: p.tag }),
          })),
        };
      },
      sendSignal: (req, ctx) => {
        const p = this.find(req.process, ctx);
        p.abort.abort();
        return {};
      },
      sendInput: (req, ctx) => {
        const p = this.find(req.process, ctx);
        const input = req.input?.input;
        if (input?.case === 'pty') throw new ConnectError('this process has no pty', Code.FailedPrecondition);
        this.stdinOf(p).write(input?.value ?? new Uint8Array());
        return {};
      },
      streamInput: async (reqs, ctx) => {
        let p: RunningProcess | undefined;
        for await (const r of reqs) {
          if (r.event.case === 'start') p = this.find(r.event.value.process, ctx);
          else if (r.event.case === 'data') {
            if (!p) throw new ConnectError('StreamInput: send the start event first', Code.FailedPrecondition);
            const input = r.event.value.input?.input;
            if (input?.case === 'pty') throw new ConnectError('this process has no pty', Code.FailedPrecondition);
            this.stdinOf(p).write(input?.value ?? new Uint8Array());
          }
        }
        return {};
      },
      closeStdin: (req, ctx) => {
        this.stdinOf(this.find(req.process, ctx)).end();
        return {};
      },
      update: () => {
        throw new ConnectError(
          'process.Process/Update is not implemented by this server (no PTYs)',
          Code.Unimplemented,
        );
      },
    };
  }

  private call(ctx: HandlerContext): ReturnType<SandboxOfCall> {
    try {
      return this.sandboxOf(ctx);
    } catch (err) {
      throw toConnectError(err);
    }
  }

  private find(selector: ProcessSelector | undefined, ctx: HandlerContext): RunningProcess {
    const { sandboxId } = this.call(ctx);
    const procs = this.bySandbox.get(sandboxId);
    const s = selector?.selector;
    const found =
      s?.case === 'pid'
        ? procs?.get(s.value)
        : s?.case === 'tag'
          ? [...(procs?.values() ?? [])].find((p) => p.tag === s.value)
          : undefined;
    if (!found) throw new ConnectError(`process ${s?.value ?? '(none named)'} not found`, Code.NotFound);
    return found;
  }

  private stdinOf(p: RunningProcess): PassThrough {
    if (!p.stdin) throw new ConnectError(`process ${p.pid} was started without stdin`, Code.FailedPrecondition);
    return p.stdin;
  }

  private async *start(
    config: ProcessConfig | undefined,
    tag: string | undefined,
    withStdin: boolean,
    pty: boolean,
    ctx: HandlerContext,
  ): AsyncGenerator<{ event: ProcessEventInit }> {
    const { live, sandboxId, envs } = this.call(ctx);
    if (pty)
      throw new ConnectError('process.Process/Start with a pty is not implemented by this server', Code.Unimplemented);
    if (!config?.cmd) throw new ConnectError('process.cmd is required', Code.InvalidArgument);
    let workdir: string;
    try {
      workdir = sandboxWorkdir(config.cwd ?? '');
    } catch (err) {
      throw toConnectError(err);
    }
    const p: RunningProcess = {
      pid: this.nextPid++,
      config: {
        cmd: config.cmd,
        args: [...config.args],
        envs: { ...config.envs },
        ...(config.cwd ? { cwd: config.cwd } : {}),
      },
      ...(tag === undefined ? {} : { tag }),
      ...(withStdin ? { stdin: new PassThrough() } : {}),
      abort: new AbortController(),
      listeners: new Set(),
    };
    const first = new EventQueue<ProcessEventInit>();
    p.listeners.add(first);
    let procs = this.bySandbox.get(sandboxId);
    if (!procs) this.bySandbox.set(sandboxId, (procs = new Map()));
    procs.set(p.pid, p);
    first.push({ event: { case: 'start', value: { pid: p.pid } } });
    const broadcast = (event: ProcessEventInit, bytes = 0): boolean => {
      let keepUp = true;
      for (const l of p.listeners) if (!l.push(event, bytes)) keepUp = false;
      return keepUp;
    };
    const keepalive = setInterval(() => broadcast({ event: { case: 'keepalive', value: {} } }), KEEPALIVE_MS);
    void live
      .exec({
        command: `exec ${shellCommand([config.cmd, ...config.args])}`,
        stdin: p.stdin ?? '',
        env: { ...envs, ...config.envs },
        workdir,
        abort: p.abort.signal,
        sink: {
          write: (stream, data) =>
            broadcast({ event: { case: 'data', value: { output: { case: stream, value: data } } } }, data.length),
          onceDrain: (resume) => {
            let waiting = p.listeners.size;
            if (waiting === 0) return resume();
            for (const l of p.listeners) l.onceDrained(() => --waiting === 0 && resume());
          },
        },
      })
      .then(
        (r) => ({
          exitCode: r.exitCode,
          exited: !r.aborted && !r.timedOut,
          status: r.aborted ? 'signal: killed' : `exit status ${r.exitCode}`,
        }),
        (err: unknown) => ({
          exitCode: -1,
          exited: false,
          status: 'error',
          error: String((err as Error).message ?? err),
        }),
      )
      .then((end) => {
        clearInterval(keepalive);
        procs.delete(p.pid);
        broadcast({ event: { case: 'end', value: end } });
        for (const l of p.listeners) l.end();
      });
    try {
      for await (const event of first) yield { event };
    } finally {
      // The caller went away (or the process ended): the process goes on, unheard by this stream.
      p.listeners.delete(first);
    }
  }

  private async *connect(
    selector: ProcessSelector | undefined,
    ctx: HandlerContext,
  ): AsyncGenerator<{ event: ProcessEventInit }> {
    const p = this.find(selector, ctx);
    const queue = new EventQueue<ProcessEventInit>();
    queue.push({ event: { case: 'start', value: { pid: p.pid } } });
    p.listeners.add(queue);
    try {
      for await (const event of queue) yield { event };
    } finally {
      p.listeners.delete(queue);
    }
  }
}
