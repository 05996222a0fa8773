/** One reader over either transport, for suites that must hold on both. */
import { SseReader, eventsUrl, type RawEvent } from './sse-reader.ts';
import { WsReader, wsUrl } from './ws-reader.ts';
import { testToken } from './test-token.ts';

export type Transport = 'sse' | 'ws';
export const TRANSPORTS: Transport[] = ['sse', 'ws'];

export interface StreamReader {
  readonly events: RawEvent[];
  of(event: string): RawEvent[];
  until(pred: (r: StreamReader) => boolean, ms?: number, what?: string): Promise<void>;
  close(): void;
}

export function openStream(
  transport: Transport,
  base: string,
  clientId: string,
  subs: object[],
  token = testToken('test-user'),
): StreamReader {
  if (transport === 'ws') return new WsReader(wsUrl(base, clientId, token), subs) as StreamReader;
  return new SseReader(eventsUrl(base, clientId, subs, { token })) as unknown as StreamReader;
}
