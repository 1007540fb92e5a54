import { Histogram, type MetricType, type Registry } from "prom-client";

type Label = "method" | "code";

interface Series {
  labels: { method: string; code: string };
  /** counts[i]: observations in (bounds[i-1], bounds[i]]; the last slot is above every bound. */
  counts: Float64Array;
  sum: number;
  count: number;
}

const NAME = "ctm_rpc_duration_seconds";
const HELP = "RPC latency by method and status code";
// The registry prints `type` as is; prom-client's typings declare it as a numeric enum that does not exist at run time.
const HISTOGRAM = "histogram" as unknown as MetricType;
const BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

/**
 * ctm_rpc_duration_seconds. prom-client's observe re-validates and hashes the label set on
 * every call, a few microseconds on a Get that takes tens; here a series is looked up once per
 * (method, code) and an observation is two additions and a short scan. The registry reads the
 * series at scrape time through this histogram's own get, so the exposition is prom-client's,
 * bucket for bucket.
 */
export class RpcLatencyHistogram extends Histogram<Label> {
  private readonly series = new Map<string, Series>();
  private readonly bounds = BUCKETS;

  constructor(registry: Registry) {
    super({ name: NAME, help: HELP, labelNames: ["method", "code"], buckets: BUCKETS, registers: [registry] });
  }

  /** A function that observes one latency of (method, code). */
  recorder(method: string, code: string): (seconds: number) => void {
    const id = `${method} ${code}`;
    let s = this.series.get(id);
    if (s === undefined) this.series.set(id, (s = { labels: { method, code }, counts: new Float64Array(this.bounds.length + 1), sum: 0, count: 0 }));
    const series = s;
    const bounds = this.bounds;
    return (seconds) => {
      let i = 0;
      while (i < bounds.length && seconds > bounds[i]!) i++;
      series.counts[i]!++;
      series.sum += seconds;
      series.count++;
    };
  }

  override async get(): ReturnType<Histogram<Label>["get"]> {
    const values = this.rows().map((v) => ({ value: v.value, labels: { ...v.labels, ...v.sharedLabels }, metricName: v.metricName }));
    return { name: NAME, help: HELP, type: HISTOGRAM, aggregator: "sum", collect: () => undefined, values };
  }

  /** What prom-client's registry renders (it prefers this to get): Histogram's own shape, from the series. */
  async getForPromString(): Promise<{ name: string; help: string; type: MetricType; aggregator: "sum"; values: Row[] }> {
    return { name: NAME, help: HELP, type: HISTOGRAM, aggregator: "sum", values: this.rows() };
  }

  private rows(): Row[] {
    const out: Row[] = [];
    for (const s of this.series.values()) {
      let cumulative = 0;
      this.bounds.forEach((le, i) => {
        cumulative += s.counts[i]!;
        out.push({ value: cumulative, labels: { le }, sharedLabels: s.labels, metricName: `${NAME}_bucket` });
      });
      out.push({ value: s.count, labels: { le: "+Inf" }, sharedLabels: s.labels, metricName: `${NAME}_bucket` });
      out.push({ value: s.sum, labels: {}, sharedLabels: s.labels, metricName: `${NAME}_sum` });
      out.push({ value: s.count, labels: {}, sharedLabels: s.labels, metricName: `${NAME}_count` });
    }
    return out;
  }
}

interface Row {
  value: number;
  labels: { le?: number | string };
  sharedLabels: { method: string; code: string };
  metricName: string;
}
