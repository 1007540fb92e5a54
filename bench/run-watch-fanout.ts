import { fileURLToPath } from "node:url";
import { type ChildProcesses, stop } from "./child-processes.js";
import { CpuMeter } from "./cpu-meter.js";
import { percentile } from "./percentile.js";

export interface WatchFanoutOptions {
  target: "ctm" | "etcd";
  /** host:port, or several comma-separated (replicas, etcd members): the watchers are split evenly over them, a process for each. */
  address: string;
  key: string;
  watchers: number;
  channels: number;
  sets: number;
  spacingMs: number;
  /**
   * Writes sent first, `spacingMs` apart like the rest, whose deliveries are checked but not
   * timed: the watchers' processes start fresh every run, and their first writes' latencies
   * measure their own JIT warming up (for etcd's watchers as for ctmd's), not the server.
   */
  warmup: number;
  /** Writes one value carrying (seq, sentNs) to `key`; resolves true when acknowledged OK. */
  put: (seq: number, sentNs: string) => Promise<boolean>;
}

export interface WatchFanoutResult {
  watchers: number;
  created: number;
  streamErrors: string[];
  sets: number;
  setsOk: number;
  deliveries: number;
  expected: number;
  warmup: number;
  warmupOk: number;
  warmupDeliveries: number;
  expectedWarmup: number;
  /** Put-to-delivery p99 of the warm-up writes: what the rows leave out. */
  warmupP99Ms: number;
  outOfOrder: number;
  /** Put-to-delivery, over every (set, watcher) delivery. */
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** Put-to-last-watcher, per set. */
  fanoutP50Ms: number;
  fanoutP99Ms: number;
  /** Put-to-delivery of the watchers on each address. */
  byAddress: { address: string; deliveries: number; p50Ms: number; p99Ms: number }[];
  setupMs: number;
  /** How long each write took to be acknowledged (the writes are sequential). */
  ackP50Ms: number;
  ackP99Ms: number;
  /** The watchers' processes' CPU while the timed writes went out, in cores, summed. */
  clientCores: number;
}

interface FromChild {
  latencies: number[];
  warmupLatencies: number[];
  /** By timed write; null (NaN through IPC's JSON) where no watcher of this child saw it. */
  lastMs: (number | null)[];
  outOfOrder: number;
}

/** One watchers' process: the watchers of one address. */
class WatcherChild {
  readonly child;
  private stderr = "";

  constructor(children: ChildProcesses, o: WatchFanoutOptions, address: string, watchers: number, channels: number) {
    const ext = import.meta.url.endsWith(".ts") ? "ts" : "js";
    const entry = fileURLToPath(new URL(`./watch-fanout-main.${ext}`, import.meta.url));
    this.child = children.forkTs(entry, [o.target, address, o.key, String(watchers), String(channels), String(o.warmup)]);
    this.child.stdout?.resume();
    this.child.stderr?.on("data", (chunk: Buffer) => (this.stderr = (this.stderr + chunk.toString()).slice(-4000)));
  }

  next<T>(type: string): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const onMessage = (m: { type: string }): void => {
        if (m.type !== type) return;
        this.child.off("message", onMessage);
        this.child.off("exit", onExit);
        resolve(m as T);
      };
      const onExit = (code: number | null): void => reject(new Error(`watch child exited (${code}):\n${this.stderr}`));
      this.child.on("message", onMessage);
      this.child.once("exit", onExit);
    });
  }
}

/**
 * Opens the watch streams, one child process per address (as the watchers of two servers would
 * be two processes: one process decoding every delivery was the busiest on this machine, and
 * its own queue added to every latency), waits until every one is created, then writes
 * `warmup + sets` values `spacingMs` apart from this process. Each value carries its hrtime
 * send time, so the children measure put-to-delivery for every watcher.
 */
export async function runWatchFanout(children: ChildProcesses, o: WatchFanoutOptions): Promise<WatchFanoutResult> {
  const t0 = Date.now();
  const addresses = o.address.split(",");
  const per = Math.ceil(o.watchers / addresses.length);
  const channels = Math.max(1, Math.round(o.channels / addresses.length));
  const procs = addresses.map((address, i) => new WatcherChild(children, o, address, Math.max(0, Math.min(per, o.watchers - i * per)), channels));
  try {
    const ready = await Promise.all(procs.map((p) => p.next<{ created: number; errors: string[] }>("ready")));
    const setupMs = Date.now() - t0;
    let setsOk = 0;
    let warmupOk = 0;
    const acks = new Float64Array(o.sets);
    let meters: CpuMeter[] = [];
    const start = Date.now();
    for (let seq = 0; seq < o.warmup + o.sets; seq++) {
      const wait = start + seq * o.spacingMs - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      if (seq === o.warmup) meters = procs.map((p) => new CpuMeter(p.child.pid));
      const sent = process.hrtime.bigint();
      const ok = await o.put(seq, sent.toString());
      if (seq < o.warmup) {
        if (ok) warmupOk++;
        continue;
      }
      if (ok) setsOk++;
      acks[seq - o.warmup] = Number(process.hrtime.bigint() - sent) / 1e6;
    }
    const clientCores = meters.reduce((sum, m) => sum + m.cores(), 0);
    acks.sort();
    const results = await Promise.all(
      procs.map((p) => {
        const result = p.next<FromChild>("result");
        p.child.send({ type: "expect", sets: o.sets });
        return result;
      }),
    );
    const sorted = (xs: number[]): Float64Array => Float64Array.from(xs).sort();
    const all = sorted(results.flatMap((r) => r.latencies));
    const fanout = sorted(Array.from({ length: o.sets }, (_, i) => Math.max(...results.map((r) => r.lastMs[i] ?? Number.NaN))));
    return {
      watchers: o.watchers,
      created: ready.reduce((n, r) => n + r.created, 0),
      streamErrors: ready.flatMap((r) => r.errors).slice(0, 10),
      sets: o.sets,
      setsOk,
      deliveries: all.length,
      expected: o.watchers * o.sets,
      warmup: o.warmup,
      warmupOk,
      warmupDeliveries: results.reduce((n, r) => n + r.warmupLatencies.length, 0),
      expectedWarmup: o.watchers * o.warmup,
      warmupP99Ms: percentile(sorted(results.flatMap((r) => r.warmupLatencies)), 99),
      outOfOrder: results.reduce((n, r) => n + r.outOfOrder, 0),
      p50Ms: percentile(all, 50),
      p99Ms: percentile(all, 99),
      maxMs: all.length ? all[all.length - 1]! : Number.NaN,
      fanoutP50Ms: percentile(fanout, 50),
      fanoutP99Ms: percentile(fanout, 99),
      byAddress: addresses.map((address, i) => {
        const own = sorted(results[i]!.latencies);
        return { address, deliveries: own.length, p50Ms: percentile(own, 50), p99Ms: percentile(own, 99) };
      }),
      setupMs,
      ackP50Ms: percentile(acks, 50),
      ackP99Ms: percentile(acks, 99),
      clientCores,
    };
  } finally {
    await Promise.all(procs.map((p) => stop(p.child, 2000)));
  }
}

/** Whether a run went through whole: every stream created, every write (warm-up too) acknowledged, every event delivered once and in order. */
export function fanoutComplete(r: WatchFanoutResult): boolean {
  return r.created === r.watchers && r.setsOk === r.sets && r.warmupOk === r.warmup && r.deliveries === r.expected && r.warmupDeliveries === r.expectedWarmup && r.outOfOrder === 0;
}
