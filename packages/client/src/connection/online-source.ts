/**
 * Online/offline awareness, injectable so tests can drive it (TanStack Query's
 * onlineManager idea). In browsers it listens to `online`/`offline`; elsewhere
 * it always says online.
 */
export interface OnlineSource {
  isOnline(): boolean;
  /** Calls `listener` with the new state on every change; returns the unsubscribe. */
  subscribe(listener: (online: boolean) => void): () => void;
}

export const browserOnline: OnlineSource = {
  isOnline: () => (typeof navigator === 'undefined' ? true : navigator.onLine !== false),
  subscribe(listener) {
    const target = globalThis as {
      addEventListener?: (t: string, l: () => void) => void;
      removeEventListener?: (t: string, l: () => void) => void;
    };
    if (!target.addEventListener) return () => {};
    const on = () => listener(true);
    const off = () => listener(false);
    target.addEventListener('online', on);
    target.addEventListener('offline', off);
    return () => {
      target.removeEventListener?.('online', on);
      target.removeEventListener?.('offline', off);
    };
  },
};
