import { Counter, type CounterConfiguration, type LabelValues } from "prom-client";

/** The label value that stands for every value past the cap. */
export const OTHER_LABEL = "_other";

/**
 * A counter some of whose labels are names clients choose (validators, health checks):
 * every distinct value is a series kept forever, deleted documents included. Past
 * `maxSeries` label sets, new values of the `capped` labels count under "_other", so
 * totals stay right and the registry stays bounded.
 */
export class CappedCounter<T extends string> extends Counter<T> {
  private readonly seen = new Set<string>();

  constructor(config: CounterConfiguration<T>, capped: readonly T[], maxSeries: number) {
    super(config);
    // prom-client sets `inc` on the instance in its constructor, so it is wrapped here, not overridden.
    const inc = this.inc.bind(this) as (labels?: LabelValues<T> | number, value?: number) => void;
    this.inc = ((labels?: LabelValues<T> | number, value?: number): void => {
      if (typeof labels !== "object") return inc(labels, value);
      const id = JSON.stringify(labels);
      if (!this.seen.has(id)) {
        if (this.seen.size < maxSeries) this.seen.add(id);
        else labels = { ...labels, ...Object.fromEntries(capped.map((l) => [l, OTHER_LABEL])) };
      }
      inc(labels, value);
    }) as Counter<T>["inc"];
  }

  /** Distinct label sets counted under their own names. */
  get series(): number {
    return this.seen.size;
  }
}
