// Types of privateDockerd.mjs, for the tests and the bench that import it.
export const TOOLS_IMAGE: string;
export function dockerdPath(): string | undefined;
export function engineGet(socket: string, path: string): Promise<{ status: number | undefined; body: string }>;
export interface PrivateDockerd {
  socket: string;
  dir: string;
  pid: number | undefined;
  stop(): Promise<void>;
}
export function startPrivateDockerd(o?: { socketGroup?: number; timeoutMs?: number }): Promise<PrivateDockerd>;
export function importToolsImage(socket: string): Promise<string>;
