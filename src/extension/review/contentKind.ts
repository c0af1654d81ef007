/** Whether a file can be shown in a text diff. vscode-free. */

const SNIFF_BYTES = 8192;

export type ContentKind = 'text' | 'binary' | 'too-large';

export function isBinary(bytes: Uint8Array): boolean {
  const head = bytes.subarray(0, SNIFF_BYTES);
  if (head.includes(0)) return true;
  try {
    // A multi-byte character cut at the sniff boundary is not a reason to call it binary.
    new TextDecoder('utf-8', { fatal: true }).decode(head, { stream: head.length < bytes.length });
    return false;
  } catch {
    return true;
  }
}

export function contentKind(bytes: Uint8Array | undefined, size: number, maxDiffBytes: number): ContentKind {
  if (size > maxDiffBytes) return 'too-large';
  if (bytes && isBinary(bytes)) return 'binary';
  return 'text';
}
