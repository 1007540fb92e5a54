/** What a long loop calls between steps: nothing while its slice lasts, a promise to await once it is used up. */
export type Pause = () => Promise<void> | undefined;

/**
 * How long a long loop (a large commit, a RollbackPrefix's map of the past, a compaction's pass)
 * holds the event loop before it lets other work run: short enough that several such loops
 * resumed in the same turn still stay well under the 100 ms any call may wait.
 */
export const SLICE_MS = 10;

/**
 * A Pause that lets other work run once the loop has held the event loop for `ms`. It looks at
 * the clock every 64 calls, so a loop may call it at every step for next to nothing.
 */
export function timeSlices(ms = SLICE_MS): Pause {
  let start = performance.now();
  let calls = 0;
  return () => {
    if ((++calls & 63) !== 0 || performance.now() - start < ms) return undefined;
    return new Promise<void>((resolve) =>
      setImmediate(() => {
        start = performance.now();
        resolve();
      }),
    );
  };
}
