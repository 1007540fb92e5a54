/** What a long loop calls between steps: nothing while its slice lasts, a promise to await once it is used up. */
export type Pause = () => Promise<void> | undefined;

/**
 * How long long loops (a large commit, a RollbackPrefix's map of the past, a compaction's pass)
 * hold the event loop, all together, before they let other work run. A unary call waits through
 * about two slices, not one: Node sends gRPC's trailers from a setImmediate of its own, queued
 * behind the loops already waiting (a grpc-js server running 10 ms slices answered in 22 ms).
 */
export const SLICE_MS = 5;

/** When the loops waiting for the next turn were let go, and the promise they wait on. */
let turnStart = 0;
let nextTurn: Promise<void> | undefined;

/**
 * Every paused loop waits on one setImmediate, and the loops resumed by it share one slice that
 * starts then: several loops at once (a batch's bytes made while its heads are gathered, the past
 * read for a rollback while an earlier batch is moved in) would otherwise each hold the event
 * loop for a whole slice in the same turn, and a call that came in waited for all of them.
 */
function waitForTurn(): Promise<void> {
  return (nextTurn ??= new Promise<void>((resolve) =>
    setImmediate(() => {
      nextTurn = undefined;
      turnStart = performance.now();
      resolve();
    }),
  ));
}

/**
 * A Pause that lets other work run once its loop has held the event loop for `ms`, counted from
 * when it started or, after a pause, from the start of the slice it shares with the other loops
 * resumed in that turn. It looks at the clock every 16 calls, so a loop may call it at every step
 * for next to nothing, and each loop gets at least those 16 steps a turn.
 */
export function timeSlices(ms = SLICE_MS): Pause {
  let start = performance.now();
  let calls = 0;
  const resumed = (): void => {
    start = turnStart;
  };
  return () => {
    if ((++calls & 15) !== 0 || performance.now() - start < ms) return undefined;
    return waitForTurn().then(resumed);
  };
}
