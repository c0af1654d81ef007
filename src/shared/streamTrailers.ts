/**
 * Trailers the embedded server ends ExecStream and SessionExecStream with: the protocol's
 * ExecOutput carries only output, so without them a client learns no exit code. AgentFense's
 * own server sends none; clients must treat them as optional.
 */

/** The command's exit code, in decimal. */
export const EXIT_CODE_TRAILER = 'x-agentfense-exit-code';

/**
 * SessionExecStream only: the session's working directory after the command. Binary metadata
 * (the `-bin` suffix: gRPC carries it base64-encoded) because a directory name may hold any byte.
 */
export const SESSION_CWD_TRAILER = 'x-agentfense-cwd-bin';

/**
 * How many codebase paths the merge after the command wrote or deleted, in decimal: 0 means the
 * codebase is as it was, so a client's review need not look again.
 */
export const PATHS_MERGED_TRAILER = 'x-agentfense-paths-merged';

/** Request header: `1` asks the embedded server to audit the command (Exec, ExecStream). */
export const AUDIT_REQUEST_HEADER = 'x-agentfense-audit';

/**
 * An audited command's refused accesses (Exec and ExecStream), as JSON (denialWire.ts); binary
 * metadata because paths may hold any byte. Bounded to fit gRPC's default metadata limit.
 */
export const DENIALS_TRAILER = 'x-agentfense-denials-bin';
