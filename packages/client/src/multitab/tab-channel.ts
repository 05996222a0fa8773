/** The part of BroadcastChannel the tabs use; every tab of one origin opening the same name hears the others. */
export interface TabChannelLike {
  postMessage(message: unknown): void;
  addEventListener(type: 'message', listener: (event: { data: unknown }) => void): void;
  close(): void;
}

export type TabChannelFactory = (name: string) => TabChannelLike;

/** The platform's BroadcastChannel (browsers; Node 18+ within one process), when there is one. */
export function browserChannel(): TabChannelFactory | undefined {
  const Ctor = (globalThis as { BroadcastChannel?: new (name: string) => TabChannelLike }).BroadcastChannel;
  return Ctor ? (name) => new Ctor(name) : undefined;
}
