/**
 * The bus carries captured transactions from the one capturing node to every
 * node's router. In one process it is a direct call (memory-bus.ts); across
 * nodes it will be Redis Streams. Either way consumers see transactions in
 * commit order, and an epoch change before the first transaction of a new slot.
 */
import type { CapturedTransaction } from '../capture/captured-transaction.ts';
import type { Lsn } from '../capture/lsn.ts';

/** Identity of one replication slot's stream. Cursors from another epoch are void. */
export interface StreamEpoch {
  epoch: string;
  /** Every transaction with a commit LSN above this will be delivered. */
  floor: Lsn;
  /** Why the epoch began: first start, the slot was lost/dropped and recreated, or the shared log lost data. */
  reason: 'start' | 'slot-recreated' | 'log-lost';
}

export interface BusConsumer {
  onEpoch(epoch: StreamEpoch): void;
  onTransaction(tx: CapturedTransaction): void;
}

export interface Bus {
  /** Resolves once the transaction is handed over (durably, for a durable bus). */
  publish(tx: CapturedTransaction): Promise<void>;
  announceEpoch(epoch: StreamEpoch): Promise<void>;
  subscribe(consumer: BusConsumer): () => void;
}
