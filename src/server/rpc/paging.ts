/**
 * Paging of ListCodebases and ListSandboxes: page-size rules and the opaque cursor handed to
 * clients. Both list in (createdAt, id) order, and a cursor names the last item returned, so a
 * page stays right when that item has gone meanwhile.
 */
import { invalidArgument } from './rpcError';

export const DEFAULT_PAGE_SIZE = 100;
export const MAX_PAGE_SIZE = 1000;

export interface PageCursor {
  createdAtMs: number;
  id: string;
}

export function resolvePageSize(pageSize: number): number {
  if (!Number.isInteger(pageSize) || pageSize < 0)
    throw invalidArgument(`page_size must be 0 or positive, got ${pageSize}`);
  if (pageSize === 0) return DEFAULT_PAGE_SIZE;
  return Math.min(pageSize, MAX_PAGE_SIZE);
}

export function encodePageToken(cursor: PageCursor): string {
  return Buffer.from(JSON.stringify([cursor.createdAtMs, cursor.id])).toString('base64url');
}

/** An empty token means the first page. */
export function decodePageToken(token: string): PageCursor | undefined {
  if (token === '') return undefined;
  const malformed = () => invalidArgument('page_token is malformed; pass the next_page_token of a previous response');
  let decoded: unknown;
  try {
    decoded = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
  } catch {
    throw malformed();
  }
  if (!Array.isArray(decoded) || decoded.length !== 2) throw malformed();
  const [createdAtMs, id] = decoded as unknown[];
  if (typeof createdAtMs !== 'number' || !Number.isFinite(createdAtMs) || typeof id !== 'string') throw malformed();
  return { createdAtMs, id };
}

/** The listing order: by createdAt, then by id (code units). Both lists sort with it. */
export function compareCursors(a: PageCursor, b: PageCursor): number {
  return a.createdAtMs - b.createdAtMs || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

export function isAfterCursor(item: PageCursor, cursor: PageCursor): boolean {
  return compareCursors(item, cursor) > 0;
}
