/**
 * Who the call being dispatched acts as. The call chain sets it around the synchronous start
 * of each authenticated handler; a use case reads it there, before its first await, and puts
 * it on the records it writes (ConfigService.actor, RolloutService.control), or passes it on
 * explicitly when it writes later (ValidatorService.set). An AsyncLocalStorage would follow
 * awaits by itself, but on Node 20 its promise hooks cost every call in the process: Get at
 * c64 halved in `npm run bench`.
 */
let acting: string | undefined;

/** Runs `f` (synchronously) as `principal`. */
export function actAs<T>(principal: string, f: () => T): T {
  const previous = acting;
  acting = principal;
  try {
    return f();
  } finally {
    acting = previous;
  }
}

export const currentPrincipal = (): string | undefined => acting;
