/**
 * The Docker engine the Docker runtime uses (`--docker-host`, else DOCKER_HOST, else
 * /var/run/docker.sock), through the Engine API (dockerode). Only a local engine, on a Unix
 * socket: a command's timeout or cancellation kills its runner by host pid
 * (dockerExec.ts), which a remote engine's processes do not have here.
 *
 * Nothing connects until a Docker sandbox is asked for: a server without Docker starts as
 * before, and says what to do only when Docker is wanted.
 */
import Docker from 'dockerode';
import { failedPrecondition, invalidArgument, type RpcError } from '../../rpc/rpcError';

export const DEFAULT_DOCKER_SOCKET = '/var/run/docker.sock';

/** Labels on every container this server makes: how a restarted server finds its leftovers. */
export const SANDBOX_LABEL = 'dev.agentfense.sandbox';
export const SERVER_LABEL = 'dev.agentfense.server';

/** The socket path of `--docker-host` / DOCKER_HOST (`unix:///path`, `unix:/path` or a path). */
export function dockerSocketPath(host: string | undefined): string {
  const value = host?.trim() || DEFAULT_DOCKER_SOCKET;
  if (value.startsWith('unix://')) return value.slice('unix://'.length);
  if (value.startsWith('unix:')) return value.slice('unix:'.length);
  if (value.startsWith('/')) return value;
  throw invalidArgument(
    `the Docker engine must be local, on a Unix socket (unix:///path): got ${JSON.stringify(value)}. ` +
      "A command's timeout and cancellation kill its processes by host pid, which a remote engine's are not",
  );
}

export interface EngineFacts {
  version: string;
  apiVersion: string;
  storageDriver: string;
}

export class DockerEngine {
  readonly api: Docker;

  constructor(readonly socketPath: string) {
    this.api = new Docker({ socketPath });
  }

  /** The engine's version, or FAILED_PRECONDITION saying how to start one. */
  async facts(): Promise<EngineFacts> {
    try {
      const [version, info] = await Promise.all([this.api.version(), this.api.info() as Promise<{ Driver?: string }>]);
      return { version: version.Version, apiVersion: version.ApiVersion, storageDriver: info.Driver ?? '' };
    } catch (err) {
      throw this.unreachable(err);
    }
  }

  /** The image, pulled when it is not present; its environment (Config.Env). */
  async ensureImage(image: string): Promise<string[]> {
    const local = await this.inspectImage(image);
    if (local) return local;
    try {
      const stream = await this.api.pull(image);
      await new Promise<void>((resolve, reject) =>
        this.api.modem.followProgress(stream, (err: Error | null) => (err ? reject(err) : resolve())),
      );
    } catch (err) {
      throw failedPrecondition(
        `image ${image} not found locally and the registry is unreachable: ${errorText(err)}. ` +
          `Load it with \`docker load\`, \`docker import\` or \`docker pull ${image}\` on a connected machine`,
      );
    }
    const pulled = await this.inspectImage(image);
    if (!pulled) throw failedPrecondition(`image ${image} was pulled but the engine does not list it`);
    return pulled;
  }

  private async inspectImage(image: string): Promise<string[] | undefined> {
    try {
      const info = await this.api.getImage(image).inspect();
      return info.Config?.Env ?? [];
    } catch (err) {
      if (statusOf(err) === 404) return undefined;
      throw this.unreachable(err);
    }
  }

  /** Removes this server's containers (a restart: none of them is running a sandbox any more). */
  async removeContainersOf(serverTag: string): Promise<number> {
    const found = await this.api.listContainers({
      all: true,
      filters: JSON.stringify({ label: [`${SERVER_LABEL}=${serverTag}`] }),
    });
    for (const c of found) await this.api.getContainer(c.Id).remove({ force: true });
    return found.length;
  }

  unreachable(err: unknown): RpcError {
    const status = statusOf(err);
    if (status !== undefined && status !== 404)
      return failedPrecondition(`the Docker engine refused: ${errorText(err)}`);
    return failedPrecondition(
      `the Docker runtime needs a Docker engine, and none answers at ${this.socketPath} (${errorText(err)}). ` +
        'Start one (`sudo systemctl start docker`, or `dockerd` by hand), make its socket readable by this ' +
        "server's user (the docker group), or point the server at another with --docker-host unix:///path/docker.sock",
    );
  }
}

export function statusOf(err: unknown): number | undefined {
  const status = (err as { statusCode?: unknown } | undefined)?.statusCode;
  return typeof status === 'number' ? status : undefined;
}

export function errorText(err: unknown): string {
  const json = (err as { json?: { message?: unknown } } | undefined)?.json;
  if (json && typeof json.message === 'string') return json.message;
  return err instanceof Error ? err.message : String(err);
}
