import { fileURLToPath } from "node:url";
import { type ChildProcesses, stop } from "./child-processes.js";
import { CpuMeter } from "./cpu-meter.js";
import { percentile } from "./percentile.js";

export interface WatchFanoutOptions {
  target: "ctm" | "etcd";
  /** host:port, or several comma-separated (replicas, etcd members): the watchers are split evenly over them. */
  address: string;
  key: string;
  watchers: number;
  channels: number;
  sets: number;
  spacingMs: number;
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
  /** The watchers' process's CPU while the writes went out, in cores: past about 0.9 its own queue adds to the latencies. */
  clientCores: number;
}

/**
 * Opens the watch streams in a child process, waits until every one is created, then
 * writes `sets` values `spacingMs` apart from this process. Each value carries its
 * hrtime send time, so the child measures put-to-delivery for every watcher.
 */
export async function runWatchFanout(children: ChildProcesses, o: WatchFanoutOptions): Promise<WatchFanoutResult> {
  const ext = import.meta.url.endsWith(".ts") ? "ts" : "js";
  const entry = fileURLToPath(new URL(`./watch-fanout-main.${ext}`, import.meta.url));
  const t0 = Date.now();
  const child = children.forkTs(entry, [o.target, o.address, o.key, String(o.watchers), String(o.channels)]);
  child.stdout?.resume();
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
  const next = <T>(type: string): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const onMessage = (m: { type: string }): void => {
        if (m.type !== type) return;
        child.off("message", onMessage);
        child.off("exit", onExit);
        resolve(m as T);
      };
      const onExit = (code: number | null): void => reject(new Error(`watch child exited (${code}):\n${stderr}`));
      child.on("message", onMessage);
      child.once("exit", onExit);
    });
  try {
    const ready = await next<{ created: number; errors: string[] }>("ready");
    const setupMs = Date.now() - t0;
    let setsOk = 0;
    const acks = new Float64Array(o.sets);
    const client = new CpuMeter(child.pid);
    const start = Date.now();
    for (let seq = 0; seq < o.sets; seq++) {
      const wait = start + seq * o.spacingMs - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      const sent = process.hrtime.bigint();
      if (await o.put(seq, sent.toString())) setsOk++;
      acks[seq] = Number(process.hrtime.bigint() - sent) / 1e6;
    }
    const clientCores = client.cores();
    acks.sort();
    type FromChild = Omit<WatchFanoutResult, "watchers" | "created" | "streamErrors" | "sets" | "setsOk" | "setupMs" | "ackP50Ms" | "ackP99Ms" | "clientCores">;
    const result = next<FromChild>("result");
    child.send({ type: "expect", sets: o.sets });
    const r = await result;
    return {
      ...r,
      watchers: o.watchers,
      created: ready.created,
      streamErrors: ready.errors,
      sets: o.sets,
      setsOk,
      setupMs,
      ackP50Ms: percentile(acks, 50),
      ackP99Ms: percentile(acks, 99),
      clientCores,
    };
  } finally {
    await stop(child, 2000);
  }
}
