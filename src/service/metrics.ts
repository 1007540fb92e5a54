import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import { CappedCounter } from "./capped-counter.js";
import { RpcLatencyHistogram } from "./rpc-latency-histogram.js";

/** Series per metric labelled by a name clients choose; more count under "_other". */
export const MAX_NAMED_SERIES = 1000;

/** RPCs of one (method, code) so far, and how many of them the counter already holds. */
interface RpcTally {
  method: string;
  code: string;
  n: number;
  reported: number;
}

/**
 * Every metric ctmd exports, on one registry owned by the composition root (no
 * global registry). Gauges that mirror state are filled by collect callbacks
 * set with `observe`.
 */
export class Metrics {
  readonly registry = new Registry();
  // Every RPC counts itself in a plain number; the counter reads the tallies at scrape time.
  private readonly rpcTallies = new Map<string, RpcTally>();
  private readonly rpcs = new Counter({
    name: "ctm_rpc_requests_total",
    help: "RPCs by method and status code",
    labelNames: ["method", "code"],
    registers: [this.registry],
    collect: () => {
      for (const t of this.rpcTallies.values()) {
        this.rpcs.labels(t.method, t.code).inc(t.n - t.reported);
        t.reported = t.n;
      }
    },
  });
  private readonly rpcSeconds = new RpcLatencyHistogram(this.registry);
  readonly sets = new Counter({ name: "ctm_records_written_total", help: "Records appended to the log, by kind", labelNames: ["kind"], registers: [this.registry] });
  readonly watchStreams = new Gauge({ name: "ctm_watch_streams", help: "Open Watch streams", registers: [this.registry] });
  readonly watchEvents = new Counter({ name: "ctm_watch_events_sent_total", help: "Events written to Watch streams", registers: [this.registry] });
  readonly connections = new Gauge({ name: "ctm_connections", help: "Open client connections, by port (grpc, http, metrics)", labelNames: ["face"], registers: [this.registry] });
  readonly connectionsRefused = new Counter({
    name: "ctm_connections_refused_total",
    help: "Connections closed before they were served: past a client's share (per_client) or silent after opening (silent)",
    labelNames: ["face", "reason"],
    registers: [this.registry],
  });
  // Validator and check names are documents clients write: their series are capped.
  readonly validatorRejections = new CappedCounter(
    { name: "ctm_validator_rejections_total", help: "Writes refused by validators", labelNames: ["validator"], registers: [this.registry] },
    ["validator"],
    MAX_NAMED_SERIES,
  );
  readonly autoRollbacks = new CappedCounter(
    { name: "ctm_auto_rollbacks_total", help: "Health check breaches acted on", labelNames: ["check", "action"], registers: [this.registry] },
    ["check"],
    MAX_NAMED_SERIES,
  );
  readonly breakGlassWrites = new CappedCounter(
    { name: "ctm_break_glass_writes_total", help: "Records written past a protection policy by a caller who broke the glass, by policy", labelNames: ["policy"], registers: [this.registry] },
    ["policy"],
    MAX_NAMED_SERIES,
  );
  readonly accessLogDropped = new Counter({ name: "ctm_access_log_dropped_total", help: "Access records dropped because the queue was full", registers: [this.registry] });
  readonly accessLogWritten = new Counter({ name: "ctm_access_log_written_total", help: "Access records written", registers: [this.registry] });
  readonly commitListenerErrors = new Counter({
    name: "ctm_commit_listener_errors_total",
    help: "Commit listeners that threw: the view each maintains (watch hub, rollouts index, validators, health checks) missed a batch",
    registers: [this.registry],
  });
  readonly viewsStale = new Gauge({ name: "ctm_views_stale", help: "1 once a derived view missed a batch (NOT_SERVING until restart)", registers: [this.registry] });
  readonly backgroundFailures = new Counter({
    name: "ctm_background_failures_total",
    help: "Scheduler and health-loop ticks that failed (e.g. the store refused their writes)",
    labelNames: ["loop"],
    registers: [this.registry],
  });
  readonly authFailures = new Counter({
    name: "ctm_auth_failures_total",
    help: "Calls refused UNAUTHENTICATED, by reason (missing, malformed, unknown, expired, revoked)",
    labelNames: ["reason"],
    registers: [this.registry],
  });
  readonly authDenials = new Counter({ name: "ctm_auth_denials_total", help: "Calls refused PERMISSION_DENIED, by verb", labelNames: ["verb"], registers: [this.registry] });
  readonly accessLogErrors = new Counter({
    name: "ctm_access_log_errors_total",
    help: "Access log writes or retention passes that failed (e.g. a full disk); their records count as dropped",
    registers: [this.registry],
  });

  // prom-client hashes a label set on every call; an RPC's (method, code) pairs are few, so
  // each gets a recorder once: a tally increment and a histogram series on the hot path.
  private readonly rpcRecorders = new Map<string, (seconds: number) => void>();
  private readonly httpRecorders = new Map<string, (seconds: number) => void>();
  /** The HTTP face (OFREP, the console's API, its assets), by route and HTTP status. */
  readonly httpRequests = new Counter({ name: "ctm_http_requests_total", help: "HTTP requests by route and status", labelNames: ["route", "status"], registers: [this.registry] });
  readonly httpSeconds = new Histogram({
    name: "ctm_http_request_duration_seconds",
    help: "HTTP request latency by route (event streams: until the headers are sent)",
    labelNames: ["route"],
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: "ctm_process_" });
  }

  /** Counts one RPC and observes its latency. */
  rpc(method: string, code: string, seconds: number): void {
    this.rpcRecorder(method, code)(seconds);
  }

  /** A function that counts one HTTP request of `route` answered `status` and observes its latency (label children made once, as for RPCs). */
  httpRecorder(route: string, status: number): (seconds: number) => void {
    const id = `${route} ${status}`;
    let record = this.httpRecorders.get(id);
    if (record === undefined) {
      const count = this.httpRequests.labels(route, String(status));
      const observe = this.httpSeconds.labels(route);
      record = (seconds) => {
        count.inc();
        observe.observe(seconds);
      };
      this.httpRecorders.set(id, record);
    }
    return record;
  }

  /** Counts one RPC without a latency (streams, whose duration is their lifetime). */
  countRpc(method: string, code: string): void {
    this.tally(method, code).n++;
  }

  /** A function that counts one RPC of `method` ending with `code` and observes its latency. */
  rpcRecorder(method: string, code: string): (seconds: number) => void {
    const id = `${method} ${code}`;
    let record = this.rpcRecorders.get(id);
    if (record === undefined) {
      const tally = this.tally(method, code);
      const observe = this.rpcSeconds.recorder(method, code);
      record = (seconds) => {
        tally.n++;
        observe(seconds);
      };
      this.rpcRecorders.set(id, record);
    }
    return record;
  }

  private tally(method: string, code: string): RpcTally {
    const id = `${method} ${code}`;
    let t = this.rpcTallies.get(id);
    if (t === undefined) this.rpcTallies.set(id, (t = { method, code, n: 0, reported: 0 }));
    return t;
  }

  /** A counter whose running total is read at scrape time (from a component that counts in a plain number). */
  observeCounter(name: string, help: string, read: () => number): void {
    let reported = 0;
    const counter: Counter = new Counter({
      name,
      help,
      registers: [this.registry],
      collect() {
        const now = read();
        if (now > reported) counter.inc(now - reported);
        reported = Math.max(reported, now);
      },
    });
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

  /** A gauge with one label, filled at each scrape with exactly the series `read` gives. */
  observeLabeled(name: string, help: string, label: string, read: () => readonly (readonly [string, number])[]): void {
    new Gauge({
      name,
      help,
      labelNames: [label],
      registers: [this.registry],
      collect() {
        this.reset();
        for (const [value, n] of read()) this.set({ [label]: value }, n);
      },
    });
  }
}
