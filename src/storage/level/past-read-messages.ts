/**
 * What the store and its past reader (PastReader) say to each other. A request's `items` are a
 * page's records in order: a revision to read from the log, or minus the size of a record the
 * store holds in memory (a key's head), which counts toward the page's bytes without a read.
 */
export type PastReadRequest = { id: number; items: Float64Array; maxBytes: number; first: boolean } | { close: true };

/**
 * `first`: the items start the page, so the first is taken even past `maxBytes` (a page holds at
 * least one record). The first `count` items fit the page, `used` bytes of it. `bytes` holds the records read, one after another;
 * `ends[i]` is where item i's bytes end (an item held in memory adds none). `missing` names a
 * revision the log does not hold.
 */
export type PastReadReply = { id: number; bytes: Uint8Array; ends: Uint32Array; count: number; used: number } | { id: number; missing: number } | { id: number; error: string; code?: string };
