/** In-process bus: delivery is a synchronous call, so hand-off completes when consumers return. */
import type { CapturedTransaction } from '../capture/captured-transaction.ts';
import type { Bus, BusConsumer, StreamEpoch } from './bus.ts';

export class MemoryBus implements Bus {
  private readonly consumers = new Set<BusConsumer>();

  publish(tx: CapturedTransaction): Promise<void> {
    for (const c of this.consumers) c.onTransaction(tx);
    return Promise.resolve();
  }

  announceEpoch(epoch: StreamEpoch): Promise<void> {
    for (const c of this.consumers) c.onEpoch(epoch);
    return Promise.resolve();
  }

  subscribe(consumer: BusConsumer): () => void {
    this.consumers.add(consumer);
    return () => this.consumers.delete(consumer);
  }
}
