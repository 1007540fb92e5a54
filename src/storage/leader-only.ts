import { AsyncLocalStorage } from "node:async_hooks";

/**
 * Marks the writes that only the leader may make: the background loops (scheduler, health loop,
 * compaction) run their ticks inside `leaderOnly`, and a store shared by several replicas fences
 * every commit made there by the leadership, in the same transaction. A client's call never
 * runs inside it, so a replica that is not the leader still serves every write a client asks for.
 */
const context = new AsyncLocalStorage<true>();

export const leaderOnly = <T>(fn: () => T): T => context.run(true, fn);

/** Whether the caller runs inside leaderOnly. */
export const isLeaderOnly = (): boolean => context.getStore() === true;
