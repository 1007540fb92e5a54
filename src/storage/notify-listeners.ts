import type { LogRecord } from "@ctm/core/record";
import type { CommitListener } from "./log-store.js";

/**
 * Records every listener is handed before any listener sees the next ones. Each listener reads
 * every record of a batch; a batch of a whole prefix read by one listener after another came
 * back from memory for each, where a chunk this size is still in the CPU's cache for the next.
 */
const CHUNK = 1024;

/**
 * Calls every commit listener with `records`, a chunk at a time (see CHUNK), all in one
 * synchronous turn: nothing else runs between the chunks of a batch, and each listener gets
 * them in order. A faulty listener must not wedge the writer (the batch is durable either way)
 * nor keep the others from hearing of it: its error goes to `onError` (which logs it, counts
 * it and marks the views stale), or becomes a process warning.
 */
export function notifyListeners(listeners: Iterable<CommitListener>, records: readonly LogRecord[], onError: ((error: Error) => void) | undefined): void {
  const all = [...listeners];
  for (let at = 0; at < records.length; at += CHUNK) {
    const chunk = records.length <= CHUNK ? records : records.slice(at, at + CHUNK);
    for (const l of all) {
      try {
        l(chunk);
      } catch (e) {
        const err = e instanceof Error ? e : new Error(String(e));
        if (onError) onError(err);
        else process.emitWarning(err, "CommitListenerError");
      }
    }
  }
}

/**
 * A listener that takes each batch whole, once the turn that committed it is over: for one that
 * hands a batch on (to a read worker, which serves reads between the messages it applies).
 */
export function wholeBatches(listener: CommitListener): CommitListener {
  let pending: LogRecord[] = [];
  return (records) => {
    if (pending.length === 0) {
      queueMicrotask(() => {
        const batch = pending;
        pending = [];
        listener(batch);
      });
    }
    for (const r of records) pending.push(r);
  };
}
