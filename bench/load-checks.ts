import type { H2loadResult } from "./run-h2load.js";

/**
 * h2load's own view: requests were made and every one got a 2xx, except at most one per stream that the
 * end of the run cut off. Server-side counts are checked by the callers.
 */
export function h2clean(r: H2loadResult, concurrency: number): boolean {
  return (
    r.done > 0 &&
    r.succeeded >= r.done - concurrency &&
    r.status2xx >= r.done - concurrency &&
    r.failed + r.errored + r.timeout <= concurrency
  );
}

export function h2counts(r: H2loadResult): string {
  return `h2load counted ${r.done} done, ${r.succeeded} succeeded, ${r.status2xx} 2xx, ${r.failed} failed, ${r.errored} errored, ${r.timeout} timed out in the measured window`;
}

/**
 * Server-side failures allowed: only the calls in flight when h2load stopped, which the
 * server sees cancelled (etcd counts them as Unknown: "context canceled").
 */
export function onlyCutOff(failures: Record<string, number>, concurrency: number): boolean {
  return (
    Object.keys(failures).every((code) => /^(cancel|unknown)/i.test(code)) &&
    Object.values(failures).reduce((a, b) => a + b, 0) <= concurrency
  );
}

export function failuresText(failures: Record<string, number>): string {
  const entries = Object.entries(failures);
  return entries.length ? ` (${entries.map(([code, n]) => `${n} ${code}`).join(", ")})` : "";
}
