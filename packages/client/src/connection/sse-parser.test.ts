import { describe, expect, it } from 'vitest';
import { SseParser, type SseEvent } from './sse-parser.ts';

function parseChunks(chunks: Uint8Array[], lastEventId?: string): { events: SseEvent[]; parser: SseParser } {
  const events: SseEvent[] = [];
  const parser = new SseParser((e) => events.push(e), { lastEventId });
  for (const chunk of chunks) parser.feed(chunk);
  return { events, parser };
}

const bytes = (text: string) => new TextEncoder().encode(text);
const oneByteAtATime = (text: string) => Array.from(bytes(text), (b) => Uint8Array.of(b));

/** Every way of cutting `text` into two chunks, plus one byte at a time. */
function everySplit(text: string): Uint8Array[][] {
  const all = bytes(text);
  const splits: Uint8Array[][] = [[all], oneByteAtATime(text)];
  for (let i = 1; i < all.length; i++) splits.push([all.slice(0, i), all.slice(i)]);
  return splits;
}

describe('SseParser', () => {
  const stream =
    ': hello comment\r\n' +
    'retry: 3000\r\n' +
    'id: 0/0001\r\n' +
    'event: changes\r\n' +
    'data: {"a":1,\r\n' +
    'data:"b":"héllo 😀 ✓"}\r\n' +
    '\r\n' +
    'event: ping\n' +
    'data: {}\n' +
    '\n' +
    'data: cr only\r' +
    'data:  two spaces\r' +
    '\r' +
    'id: 0/0002\n' +
    'event: ack\n' +
    'data\n' +
    '\n';

  const expected: SseEvent[] = [
    { type: 'changes', data: '{"a":1,\n"b":"héllo 😀 ✓"}', id: '0/0001' },
    { type: 'ping', data: '{}', id: '0/0001' },
    { type: 'message', data: 'cr only\n two spaces', id: '0/0001' },
    { type: 'ack', data: '', id: '0/0002' },
  ];

  it('parses the same events however the bytes are chunked', () => {
    for (const chunks of everySplit(stream)) {
      const { events, parser } = parseChunks(chunks);
      expect(events).toEqual(expected);
      expect(parser.lastEventId).toBe('0/0002');
      expect(parser.retry).toBe(3000);
    }
  });

  it('reassembles UTF-8 characters split across chunks', () => {
    const text = 'data: 😀é✓\n\n';
    const b = bytes(text);
    // 😀 is 4 bytes starting at offset 6: cut inside it, twice.
    const { events } = parseChunks([b.slice(0, 7), b.slice(7, 9), new Uint8Array(0), b.slice(9)]);
    expect(events).toEqual([{ type: 'message', data: '😀é✓', id: undefined }]);
  });

  it('treats CR then LF in the next chunk as a single line break', () => {
    const { events } = parseChunks([bytes('data: x\r'), new Uint8Array(0), bytes('\n\r'), bytes('\ndata: y\n\n')]);
    expect(events).toEqual([
      { type: 'message', data: 'x', id: undefined },
      { type: 'message', data: 'y', id: undefined },
    ]);
  });

  it('ignores comments, unknown fields and blocks without data', () => {
    const { events } = parseChunks([bytes(':keepalive\n\nfoo: bar\nevent: nothing\n\n:x\ndata: ok\n\n')]);
    expect(events).toEqual([{ type: 'message', data: 'ok', id: undefined }]);
  });

  it('commits the last event id only when a block ends', () => {
    const { parser } = parseChunks([bytes('id: 7\ndata: a\n\nid: 8\ndata: b\n')]);
    // The second event is incomplete: resuming from "8" would skip it.
    expect(parser.lastEventId).toBe('7');
  });

  it('keeps an id across events, accepts an id-only block, and ignores ids with NUL', () => {
    const { events, parser } = parseChunks([bytes('data: a\n\nid: 5\n\nid: 6\u0000\ndata: b\n\n')], '4');
    expect(events).toEqual([
      { type: 'message', data: 'a', id: '4' },
      { type: 'message', data: 'b', id: '5' },
    ]);
    expect(parser.lastEventId).toBe('5');
  });

  it('strips a leading BOM, a single space after the colon, and discards a trailing partial event', () => {
    const rest = bytes('data:no space\n\ndata:   three\n\ndata: lost');
    // The BOM (EF BB BF) itself is split across chunks.
    const { events } = parseChunks([Uint8Array.of(0xef, 0xbb), Uint8Array.of(0xbf, ...rest)]);
    expect(events).toEqual([
      { type: 'message', data: 'no space', id: undefined },
      { type: 'message', data: '  three', id: undefined },
    ]);
  });
});
