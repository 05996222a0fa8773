/**
 * Incremental `text/event-stream` parser (WHATWG HTML §9.2.6), fed whatever
 * chunks the network hands us.
 *
 *   bytes ─▶ TextDecoder(stream) ─▶ split lines (CRLF | LF | CR) ─▶ fields ─▶ blank line ─▶ dispatch
 *
 * Chunk boundaries may fall anywhere: inside a UTF-8 sequence (the streaming
 * decoder holds the partial bytes), inside a line (kept in `partial`), or
 * between the CR and LF of a CRLF (`sawCR` swallows the LF that follows).
 */
export interface SseEvent {
  /** `event:` field, or `message` when absent (as EventSource does). */
  type: string;
  /** `data:` lines joined with `\n`. */
  data: string;
  /** The payload already parsed (a WebSocket frame is JSON as a whole): then `data` is not read. */
  message?: Record<string, unknown>;
  /** The last event id at dispatch time (it persists across events, per spec). */
  id: string | undefined;
}

const LF = 10;
const CR = 13;
const COLON = 58;
const SPACE = 32;

export class SseParser {
  // The default (ignoreBOM: false) strips a leading BOM, which the spec requires.
  private readonly decoder = new TextDecoder('utf-8');
  private partial = '';
  private sawCR = false;
  private eventType = '';
  private dataLines: string[] = [];
  private idBuffer: string | undefined;
  /** Committed only when an event block ends, so a half-received event never advances it. */
  lastEventId: string | undefined;
  /** Reconnection time from a `retry:` field; parsed for completeness, our backoff ignores it. */
  retry: number | undefined;

  constructor(
    private readonly onEvent: (event: SseEvent) => void,
    options: { lastEventId?: string | undefined } = {},
  ) {
    this.idBuffer = options.lastEventId;
    this.lastEventId = options.lastEventId;
  }

  feed(bytes: Uint8Array): void {
    this.feedText(this.decoder.decode(bytes, { stream: true }));
  }

  feedText(text: string): void {
    // An empty string (e.g. half a multi-byte char) must not reset `sawCR`.
    if (text === '') return;
    let start = 0;
    if (this.sawCR) {
      this.sawCR = false;
      if (text.charCodeAt(0) === LF) start = 1;
    }
    for (let i = start; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c !== LF && c !== CR) continue;
      const line = this.partial + text.slice(start, i);
      this.partial = '';
      if (c === CR) {
        if (i + 1 === text.length) this.sawCR = true;
        else if (text.charCodeAt(i + 1) === LF) i++;
      }
      start = i + 1;
      this.line(line);
    }
    this.partial += text.slice(start);
  }

  private line(line: string): void {
    if (line === '') return this.dispatch();
    if (line.charCodeAt(0) === COLON) return; // comment: keep-alive padding, nothing to do
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.charCodeAt(0) === SPACE) value = value.slice(1);
    switch (field) {
      case 'event':
        this.eventType = value;
        break;
      case 'data':
        this.dataLines.push(value);
        break;
      case 'id':
        if (!value.includes('\0')) this.idBuffer = value;
        break;
      case 'retry':
        if (/^\d+$/.test(value)) this.retry = Number(value);
        break;
      default: // unknown fields are ignored by spec
    }
  }

  private dispatch(): void {
    this.lastEventId = this.idBuffer;
    const type = this.eventType || 'message';
    const lines = this.dataLines;
    this.eventType = '';
    this.dataLines = [];
    // A block without any `data:` line (e.g. only `id:`) dispatches nothing.
    if (lines.length === 0) return;
    this.onEvent({ type, data: lines.join('\n'), id: this.lastEventId });
  }
}
