/**
 * Cursors: 8 hex digits of stream epoch + 16 hex digits of commit LSN.
 * Opaque to clients, but fixed-width so that within one epoch plain string
 * comparison orders them (the client relies on that to drop duplicates).
 */
import type { Lsn } from '../capture/lsn.ts';

export interface DecodedCursor {
  epoch: string;
  lsn: Lsn;
}

export function encodeCursor(epoch: string, lsn: Lsn): string {
  return epoch + lsn.toString(16).padStart(16, '0');
}

/** null when the text is not a cursor we could have issued. */
export function decodeCursor(text: string): DecodedCursor | null {
  if (!/^[0-9a-f]{24}$/.test(text)) return null;
  return { epoch: text.slice(0, 8), lsn: BigInt(`0x${text.slice(8)}`) };
}
