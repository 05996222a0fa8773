/** Presence's bounds (all in `limits`, see docs/configuration.md). What happens at each is in the comment. */
export interface PresenceLimits {
  /** JSON bytes of one meta's state (and of one broadcast's payload); more: TOO_LARGE, nothing changes. Default 1 KiB. */
  presenceStateBytes: number;
  /** Rooms one connection is in; one more: TOO_LARGE. Default 20. */
  presenceRoomsPerConnection: number;
  /** Metas (tabs) one connection holds in one room; one more: TOO_LARGE. Default 8. */
  presenceMetasPerRoom: number;
  /** State updates per connection per second; past it they are coalesced (the last state wins, never queued). Default 10. */
  presenceUpdatesPerSecond: number;
  /** Broadcasts per connection per second; past it coalesced per room and event (the last payload wins). Default 20. */
  broadcastsPerSecond: number;
  /** Users a member's state and diffs list; past it they carry the count only. Default 100. */
  presenceMembersListed: number;
  /** A closed connection's metas stay this long (a reload does not flicker out and back in). Default 3 s. */
  presenceGraceMs: number;
  /** Diffs of a room are gathered this long, so join/leave storms become few diffs. Default 50 ms. */
  presenceFlushMs: number;
}

export const DEFAULT_PRESENCE_LIMITS: PresenceLimits = {
  presenceStateBytes: 1024,
  presenceRoomsPerConnection: 20,
  presenceMetasPerRoom: 8,
  presenceUpdatesPerSecond: 10,
  broadcastsPerSecond: 20,
  presenceMembersListed: 100,
  presenceGraceMs: 3_000,
  presenceFlushMs: 50,
};
