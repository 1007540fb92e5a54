// Child process: holds the watch streams of one fan-out run, so that decoding 1,000
// deliveries per Set does not stall the driver that times the Sets.
// argv: <ctm|etcd> <address> <key> <watchers> <channels>
// IPC: -> {type:"ready", created, errors}; <- {type:"expect", sets}; -> {type:"result", ...}
import { openCtmWatchers } from "./open-ctm-watchers.js";
import { openEtcdWatchers } from "./open-etcd-watchers.js";
import { percentile } from "./percentile.js";
import type { OnDelivery } from "./watch-delivery.js";

const [target, address, key, watchersArg, channelsArg] = process.argv.slice(2);
const watchers = Number(watchersArg);
const channels = Number(channelsArg);

const latencies: number[] = [];
const lastSeq = new Int32Array(watchers).fill(-1);
const fanoutDoneMs = new Map<number, number>();
let outOfOrder = 0;
let lastDeliveryAt = process.hrtime.bigint();

const onDelivery: OnDelivery = (watcher, payload, receivedNs) => {
  const ms = Number(receivedNs - BigInt(payload.sentNs)) / 1e6;
  latencies.push(ms);
  if (payload.seq <= lastSeq[watcher]!) outOfOrder++;
  lastSeq[watcher] = payload.seq;
  fanoutDoneMs.set(payload.seq, Math.max(fanoutDoneMs.get(payload.seq) ?? 0, ms));
  lastDeliveryAt = receivedNs;
};

const open = target === "etcd" ? openEtcdWatchers : openCtmWatchers;
const handle = open(address!, key!, watchers, channels, onDelivery);

handle.created.then((created) => process.send?.({ type: "ready", ...created }));

process.on("message", (message: { type: string; sets: number }) => {
  if (message.type !== "expect") return;
  const expected = watchers * message.sets;
  // Bounded wait: until every delivery arrived, or nothing new came for 10 s.
  const poll = setInterval(() => {
    const idleMs = Number(process.hrtime.bigint() - lastDeliveryAt) / 1e6;
    if (latencies.length < expected && idleMs < 10_000) return;
    clearInterval(poll);
    const sorted = Float64Array.from(latencies).sort();
    const fanout = Float64Array.from(fanoutDoneMs.values()).sort();
    process.send?.({
      type: "result",
      deliveries: latencies.length,
      expected,
      outOfOrder,
      p50Ms: percentile(sorted, 50),
      p99Ms: percentile(sorted, 99),
      maxMs: sorted.length ? sorted[sorted.length - 1] : Number.NaN,
      fanoutP50Ms: percentile(fanout, 50),
      fanoutP99Ms: percentile(fanout, 99),
    });
    handle.close();
  }, 50);
});
process.on("disconnect", () => process.exit(0));
