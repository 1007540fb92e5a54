/**
 * Who the call being dispatched acts as. The call chain sets it around the synchronous start
 * of each authenticated handler; a use case reads it there, before its first await, and puts
 * it on the records it writes (ConfigService.actor, RolloutService.control), or passes it on
 * explicitly when it writes later (ValidatorService.set). An AsyncLocalStorage would follow
 * awaits by itself, but on Node 20 its promise hooks cost every call in the process: Get at
 * c64 halved in `npm run bench`.
 */
let acting: string | undefined;
/** Whether the call asked to break the glass (and, with auth on, holds the right: the chain checked it). */
let breakingGlass = false;

/** Runs `f` (synchronously) as `principal` (undefined with auth off), breaking the glass when asked. */
export function actAs<T>(principal: string | undefined, f: () => T, breakGlass = false): T {
  const previous = acting;
  const previousGlass = breakingGlass;
  acting = principal;
  breakingGlass = breakGlass;
  try {
    return f();
  } finally {
    acting = previous;
    breakingGlass = previousGlass;
  }
}

export const currentPrincipal = (): string | undefined => acting;

/** Read, like the principal, where a write begins (ProtectedWrites.commit). */
export const breakGlassAsked = (): boolean => breakingGlass;
