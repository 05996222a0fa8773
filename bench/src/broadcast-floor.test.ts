import { describe, expect, it } from 'vitest';
import { splitFrame } from './broadcast-floor.ts';

describe('splitFrame', () => {
  it('splits a WebSocket frame around a bigint (string) value', () => {
    const frame =
      '{"type":"CHANGES","cursor":"c1.0/1A2B","changes":[{"subscription":"b","op":"update","key":"1","row":{"id":1,"n":"1234","version":1235},"version":1235}]}';
    const { before, after } = splitFrame(frame, 'n');
    expect(`${before}1234${after}`).toBe(frame);
    expect(`${before}7${after}`).toContain('"n":"7","version":1235');
  });

  it('splits an SSE event block around a numeric value', () => {
    const frame = 'event: changes\nid: c1.0/1A2B\ndata: {"changes":[{"row":{"id":1,"n":42,"version":43}}]}\n\n';
    const { before, after } = splitFrame(frame, 'n');
    expect(`${before}99${after}`).toBe(frame.replace('"n":42', '"n":99'));
  });

  it('refuses a frame without the column', () => {
    expect(() => splitFrame('{"type":"CHANGES"}', 'n')).toThrow(/no "n" value/);
  });
});
