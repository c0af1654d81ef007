import { randomBytes } from 'node:crypto';

/** Codebase ids look like the original server's: `cb_` + 16 hex chars. */
const CODEBASE_ID = /^cb_[0-9a-f]{16}$/;

export function newCodebaseId(): string {
  return `cb_${randomBytes(8).toString('hex')}`;
}

/** True for a string that can name a codebase directory (never a path trick like `../x`). */
export function isCodebaseId(value: string): boolean {
  return CODEBASE_ID.test(value);
}
