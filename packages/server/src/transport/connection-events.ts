/** What connections report as they go, for /metrics; counted, never stored per connection. */
export interface ConnectionEvents {
  sent(event: string, bytes: number): void;
  resync(reason: string): void;
  error(code: string): void;
  /** A slow consumer was dropped at its send-buffer bound. */
  dropped(): void;
}

export const NO_EVENTS: ConnectionEvents = { sent() {}, resync() {}, error() {}, dropped() {} };
