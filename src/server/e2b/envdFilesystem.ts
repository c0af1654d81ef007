/**
 * envd's `filesystem.Filesystem` service on this server's sandboxes: Stat, ListDir, MakeDir,
 * Move and Remove, each a shell command in the sandbox (sandboxShell.ts), so the sandbox's
 * rules decide, and a write is merged like any command's. Entries are listed by `find -printf`
 * with NUL-separated fields (a name may hold any byte but NUL). Watching is not offered.
 */
import { Code, ConnectError, type HandlerContext, type ServiceImpl } from '@connectrpc/connect';
import { posix } from 'node:path';
import type { MessageInitShape } from '@bufbuild/protobuf';
import { timestampFromMs } from '@bufbuild/protobuf/wkt';
import { FileType, Filesystem, type EntryInfoSchema } from '../../generated/envd/e2b/envd/filesystem/filesystem_pb';
import type { LiveSandbox } from '../sandbox/liveSandbox';
import { shellQuote } from '../../shared/shellQuote';
import { runInSandbox, sandboxPath } from './sandboxShell';
import { toConnectError } from './connectErrors';
import type { SandboxOfCall } from './envdProcess';

type EntryInit = MessageInitShape<typeof EntryInfoSchema>;

/** find -printf: type, size, octal mode, symbolic mode, owner, group, mtime, path, link target; each ends in NUL. */
const FIELDS = '%y\\0%s\\0%m\\0%M\\0%u\\0%g\\0%T@\\0%p\\0%l\\0';
const FIELD_COUNT = 9;
/** An exit status the scripts below use for "already exists". */
const EXISTS = 17;

const TYPES: Record<string, FileType> = { f: FileType.FILE, d: FileType.DIRECTORY, l: FileType.SYMLINK };

export function parseEntries(out: Buffer): EntryInit[] {
  const fields = out.toString('utf8').split('\0');
  const entries: EntryInit[] = [];
  for (let i = 0; i + FIELD_COUNT <= fields.length; i += FIELD_COUNT) {
    const [type, size, mode, permissions, owner, group, mtime, path, link] = fields.slice(i, i + FIELD_COUNT);
    entries.push({
      name: posix.basename(path!),
      type: TYPES[type!] ?? FileType.UNSPECIFIED,
      path: path!,
      size: BigInt(size || '0'),
      mode: parseInt(mode || '0', 8),
      permissions: permissions!,
      owner: owner!,
      group: group!,
      modifiedTime: timestampFromMs(Math.round(Number(mtime) * 1000)),
      ...(type === 'l' ? { symlinkTarget: link } : {}),
    });
  }
  return entries;
}

export function filesystemService(sandboxOf: SandboxOfCall): ServiceImpl<typeof Filesystem> {
  const live = (ctx: HandlerContext): LiveSandbox => {
    try {
      return sandboxOf(ctx).live;
    } catch (err) {
      throw toConnectError(err);
    }
  };
  /** Runs a script; its failure is the Connect error its stderr names. */
  const run = async (ctx: HandlerContext, script: string): Promise<Buffer> => {
    const r = await runInSandbox(live(ctx), script);
    if (r.exitCode === EXISTS) throw new ConnectError('the path already exists', Code.AlreadyExists);
    if (r.exitCode !== 0) {
      const said = r.stderr.toString('utf8').trim();
      const code = /No such file or directory/.test(said)
        ? Code.NotFound
        : /Permission denied|Read-only file system|Operation not permitted/.test(said)
          ? Code.PermissionDenied
          : /Not a directory|Is a directory/.test(said)
            ? Code.InvalidArgument
            : Code.Internal;
      throw new ConnectError(said || `exit status ${r.exitCode}`, code);
    }
    return r.stdout;
  };
  const stat = async (ctx: HandlerContext, path: string): Promise<EntryInit> => {
    const [entry] = parseEntries(await run(ctx, `find ${shellQuote(path)} -maxdepth 0 -printf '${FIELDS}'`));
    if (!entry) throw new ConnectError(`${path}: No such file or directory`, Code.NotFound);
    return entry;
  };
  const path = (p: string) => {
    try {
      return sandboxPath(p);
    } catch (err) {
      throw toConnectError(err);
    }
  };
  return {
    stat: async (req, ctx) => ({ entry: await stat(ctx, path(req.path)) }),
    listDir: async (req, ctx) => {
      const dir = path(req.path);
      const depth = Math.max(1, req.depth || 1);
      const out = await run(
        ctx,
        `[ -d ${shellQuote(dir)} ] || { ls -d -- ${shellQuote(dir)} >/dev/null && echo "${dir}: Not a directory" >&2; exit 1; }; ` +
          `find ${shellQuote(dir)} -mindepth 1 -maxdepth ${depth} -printf '${FIELDS}'`,
      );
      return { entries: parseEntries(out) };
    },
    makeDir: async (req, ctx) => {
      const dir = path(req.path);
      await run(ctx, `[ -e ${shellQuote(dir)} ] && exit ${EXISTS}; mkdir -p -- ${shellQuote(dir)}`);
      return { entry: await stat(ctx, dir) };
    },
    move: async (req, ctx) => {
      const from = path(req.source);
      const to = path(req.destination);
      await run(ctx, `mkdir -p -- ${shellQuote(posix.dirname(to))} && mv -- ${shellQuote(from)} ${shellQuote(to)}`);
      return { entry: await stat(ctx, to) };
    },
    remove: async (req, ctx) => {
      const target = path(req.path);
      await run(ctx, `ls -d -- ${shellQuote(target)} >/dev/null && rm -rf -- ${shellQuote(target)}`);
      return {};
    },
    watchDir: () => unimplemented('WatchDir'),
    createWatcher: () => unimplemented('CreateWatcher'),
    getWatcherEvents: () => unimplemented('GetWatcherEvents'),
    removeWatcher: () => unimplemented('RemoveWatcher'),
  };
}

function unimplemented(call: string): never {
  throw new ConnectError(`filesystem.Filesystem/${call} is not implemented by this server`, Code.Unimplemented);
}
