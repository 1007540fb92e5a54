/** What a long loop calls between steps: nothing while its slice lasts, a promise to await once it is used up. */
export type Pause = () => Promise<void> | undefined;

/**
 * A Pause that lets other work run once the loop has held the event loop for `ms`. It looks at
 * the clock every 64 calls, so a loop may call it at every step for next to nothing.
 */
export function timeSlices(ms: number): Pause {
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
