/** Identifiers the server hands out: a prefix and 16 random hex digits. */
import { randomBytes } from 'node:crypto';

export const newSandboxId = () => 'sb_' + randomBytes(8).toString('hex');
export const newSessionId = () => 'sess_' + randomBytes(8).toString('hex');

/** Ids name directories on disk, so only our own shape is accepted. */
export const isSandboxId = (id: string) => /^sb_[0-9a-f]{16}$/.test(id);
