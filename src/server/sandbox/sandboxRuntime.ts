/** Which runtime runs a sandbox's processes: bubblewrap on the host (the default), or a Docker container from an image. */
export type SandboxRuntime = { kind: 'bwrap' } | { kind: 'docker'; image: string };

export const BWRAP: SandboxRuntime = { kind: 'bwrap' };
