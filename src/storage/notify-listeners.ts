import type { LogRecord } from "../domain/record.js";
import type { CommitListener } from "./log-store.js";

/**
 * Calls every commit listener with `records`. A faulty listener must not wedge the writer (the
 * batch is durable either way) nor keep the others from hearing of it: its error goes to
 * `onError` (which logs it, counts it and marks the views stale), or becomes a process warning.
 */
export function notifyListeners(listeners: Iterable<CommitListener>, records: readonly LogRecord[], onError: ((error: Error) => void) | undefined): void {
  for (const l of listeners) {
    try {
      l(records);
    } catch (e) {
      const err = e instanceof Error ? e : new Error(String(e));
      if (onError) onError(err);
      else process.emitWarning(err, "CommitListenerError");
    }
  }
}
