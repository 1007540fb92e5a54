/** What every watch-fan-out Set carries: its sequence number and its send time. */
export interface WatchPayload {
  seq: number;
  /** process.hrtime.bigint() at send, as a decimal string. CLOCK_MONOTONIC: valid across processes. */
  sentNs: string;
}

/** Called once per event delivered to one watcher. */
export type OnDelivery = (watcher: number, payload: WatchPayload, receivedNs: bigint) => void;

export interface Watchers {
  /** Resolves when every stream got its "created" response, or when `timeoutMs` passed. */
  created: Promise<{ created: number; errors: string[] }>;
  close(): void;
}

export function isWatchPayload(value: unknown): value is WatchPayload {
  const v = value as Partial<WatchPayload> | null;
  return typeof v === "object" && v !== null && typeof v.seq === "number" && typeof v.sentNs === "string";
}
