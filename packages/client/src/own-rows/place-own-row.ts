/**
 * What landing an own row does (OwnRows decides when and whether it is
 * fresh): the subscription applies it if newer; follower tabs do as we did
 * (their copy may lack what told us to drop it); whatever the store held for
 * the subscription lands now, with it, at its cursor; the view takes what the
 * subscriptions now hold for the key.
 */
import type { Change } from '@syncline/protocol';
import { toFollowers, type ClientParts } from '../client-parts.ts';

export function placeOwnRow(
  parts: ClientParts,
  subId: string,
  key: string,
  change: Change | undefined,
  fresh: boolean,
): void {
  const { registry, persisted, ownRows, writes } = parts;
  const sub = registry.get(subId);
  if (!sub) return;
  const applied = change !== undefined && fresh && sub.applyOwn(change);
  toFollowers(parts, { t: 'own', id: subId, key, ...(change ? { change } : {}), applied });
  if (ownRows.landed(subId) === 'whole') persisted?.snapshotCommitted(sub);
  else if (sub.cursor !== undefined) persisted?.release(subId, applied && change ? [change] : [], sub.cursor);
  // Even when not placed: the view may hold the answer's row (from the confirm) that the stream superseded.
  writes.refreshRow(subId, key);
}
