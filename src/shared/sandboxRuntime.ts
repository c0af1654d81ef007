/**
 * Which runtime runs a sandbox's processes: bubblewrap on the host (the default), or a Docker
 * container from an image. What a preset or a task says (`runtime: "docker"`, `image`), the
 * labels a client finds its sandbox by again, and the server's record all use this one type.
 */
export type SandboxRuntime = { kind: 'bwrap' } | { kind: 'docker'; image: string };

export const BWRAP: SandboxRuntime = { kind: 'bwrap' };

/** The label a client sandbox carries with its image (a Docker sandbox of another image is another sandbox). */
export const IMAGE_LABEL = 'agentfense.image';

export class RuntimeSpecError extends Error {}

/**
 * A preset's or task's `runtime` and `image`, checked: `bubblewrap` (or nothing) takes no image;
 * `docker` needs one. Anything else is an error that says what is accepted.
 */
export function parseRuntime(runtime: unknown, image: unknown): SandboxRuntime | undefined {
  if (runtime === undefined && image === undefined) return undefined;
  if (image !== undefined && (typeof image !== 'string' || !/^[\x21-\x7e]{1,512}$/.test(image)))
    throw new RuntimeSpecError(`"image" must be a Docker image reference such as "python:3.11-slim"`);
  if (runtime === 'docker') {
    if (image === undefined)
      throw new RuntimeSpecError('"runtime": "docker" needs an "image" (for example "python:3.11-slim")');
    return { kind: 'docker', image: image as string };
  }
  if (runtime === undefined || runtime === 'bubblewrap') {
    if (image !== undefined)
      throw new RuntimeSpecError('"image" needs "runtime": "docker" (bubblewrap uses the host system)');
    return BWRAP;
  }
  throw new RuntimeSpecError(`"runtime" must be "bubblewrap" or "docker"; got ${JSON.stringify(runtime)}`);
}

/** How a person reads it: `bubblewrap`, `docker python:3.11-slim`. */
export function describeRuntime(r: SandboxRuntime): string {
  return r.kind === 'docker' ? `docker ${r.image}` : 'bubblewrap';
}

/** The labels a sandbox of this runtime carries (none for bubblewrap, the default). */
export function runtimeLabels(r: SandboxRuntime): Record<string, string> {
  return r.kind === 'docker' ? { [IMAGE_LABEL]: r.image } : {};
}

/** The runtime a client sandbox was made for, from its labels. */
export function runtimeOfLabels(labels: Readonly<Record<string, string>>): SandboxRuntime {
  const image = labels[IMAGE_LABEL];
  return image ? { kind: 'docker', image } : BWRAP;
}
