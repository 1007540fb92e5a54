import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

/**
 * Every metric ctmd exports, on one registry owned by the composition root (no
 * global registry). Gauges that mirror state are filled by collect callbacks
 * set with `observe`.
 */
export class Metrics {
  readonly registry = new Registry();
  readonly rpcs = new Counter({ name: "ctm_rpc_requests_total", help: "RPCs by method and status code", labelNames: ["method", "code"], registers: [this.registry] });
  readonly rpcSeconds = new Histogram({
    name: "ctm_rpc_duration_seconds",
    help: "RPC latency by method and status code",
    labelNames: ["method", "code"],
    buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });
  readonly sets = new Counter({ name: "ctm_records_written_total", help: "Records appended to the log, by kind", labelNames: ["kind"], registers: [this.registry] });
  readonly watchStreams = new Gauge({ name: "ctm_watch_streams", help: "Open Watch streams", registers: [this.registry] });
  readonly watchEvents = new Counter({ name: "ctm_watch_events_sent_total", help: "Events written to Watch streams", registers: [this.registry] });
  readonly validatorRejections = new Counter({ name: "ctm_validator_rejections_total", help: "Writes refused by validators", labelNames: ["validator"], registers: [this.registry] });
  readonly autoRollbacks = new Counter({ name: "ctm_auto_rollbacks_total", help: "Health check breaches acted on", labelNames: ["check", "action"], registers: [this.registry] });
  readonly accessLogDropped = new Counter({ name: "ctm_access_log_dropped_total", help: "Access records dropped because the queue was full", registers: [this.registry] });
  readonly accessLogWritten = new Counter({ name: "ctm_access_log_written_total", help: "Access records written", registers: [this.registry] });
  readonly accessLogErrors = new Counter({
    name: "ctm_access_log_errors_total",
    help: "Access log writes or retention passes that failed (e.g. a full disk); their records count as dropped",
    registers: [this.registry],
  });

  // prom-client hashes a label set on every call; an RPC's (method, code) pairs are few, so
  // their children are looked up once and reused on the hot path.
  private readonly rpcChildren = new Map<string, { count: { inc(): void }; seconds: { observe(v: number): void } }>();

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: "ctm_process_" });
  }

  /** Counts one RPC and observes its latency. */
  rpc(method: string, code: string, seconds: number): void {
    const id = `${method} ${code}`;
    let c = this.rpcChildren.get(id);
    if (c === undefined) {
      c = { count: this.rpcs.labels(method, code), seconds: this.rpcSeconds.labels(method, code) };
      this.rpcChildren.set(id, c);
    }
    c.count.inc();
    c.seconds.observe(seconds);
  }

  /** A gauge whose value is read at scrape time. */
  observe(name: string, help: string, read: () => number | Promise<number>): void {
    new Gauge({
      name,
      help,
      registers: [this.registry],
      async collect() {
        this.set(await read());
      },
    });
  }
}
