import { AsyncLocalStorage } from "node:async_hooks";

/**
 * Who the current call (or background loop) acts as. The call chain runs each authenticated
 * handler inside it; the scheduler and the health loop run their ticks inside it; the store
 * asks it once per commit, so every record names its principal without each use case
 * passing it along.
 */
export const actingPrincipal = new AsyncLocalStorage<string>();

export const currentPrincipal = (): string | undefined => actingPrincipal.getStore();
