import { AsyncLocalStorage } from "node:async_hooks";

/**
 * Marks the writes that only the leader may make: the background loops (scheduler, health loop,
 * compaction) run their ticks inside `leaderOnly`, and a store shared by several replicas fences
 * every commit made there by the leadership, in the same transaction. A client's call never
 * runs inside it, so a replica that is not the leader still serves every write a client asks for.
 */
const context = new AsyncLocalStorage<true>();
/** Runs of leaderOnly not finished yet. */
let running = 0;

export async function leaderOnly<T>(fn: () => Promise<T>): Promise<T> {
  running++;
  try {
    return await context.run(true, fn);
  } finally {
    // On Node 20 an enabled AsyncLocalStorage hooks every promise the process makes, a client's
    // calls too; between the loops' ticks nothing needs it, so it is turned off until the next.
    // A commit made in a tick keeps its fence after: the stores read isLeaderOnly() once, when
    // the commit is made, and carry the answer with it.
    if (--running === 0) context.disable();
  }
}

/** Whether the caller runs inside leaderOnly. */
export const isLeaderOnly = (): boolean => context.getStore() === true;
