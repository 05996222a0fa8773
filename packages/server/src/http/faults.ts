/** Exceptions that were contained to one request or connection, counted by where they happened. */
export type FaultSite = 'request' | 'upgrade' | 'frame';

export class Faults {
  private readonly counts: Record<FaultSite, number> = { request: 0, upgrade: 0, frame: 0 };

  count(site: FaultSite): void {
    this.counts[site]++;
  }

  toJSON(): Record<FaultSite, number> {
    return { ...this.counts };
  }
}
