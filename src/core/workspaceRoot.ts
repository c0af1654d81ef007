/**
 * A local folder the core mirrors into a codebase: the extension's workspace folder, the
 * MCP server's root, the bench's generated tree.
 */
export interface WorkspaceRoot {
  /** Shown to the user and used in codebase names and labels. */
  name: string;
  /** Absolute local path. */
  path: string;
}

/** Logging the core does; the extension hands it its output channel, others the console. */
export interface CoreLog {
  info(message: string): void;
  debug(message: string): void;
  error(message: string): void;
}

export const SILENT_LOG: CoreLog = { info: () => undefined, debug: () => undefined, error: () => undefined };
