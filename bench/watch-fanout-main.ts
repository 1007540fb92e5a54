// Child process: holds the watch streams of one fan-out run, so that decoding 1,000
// deliveries per Set does not stall the driver that times the Sets.
// argv: <ctm|etcd> <address[,address...]> <key> <watchers> <channels>
//   Several addresses (replicas, or etcd members) split the watchers and channels evenly, in blocks.
// IPC: -> {type:"ready", created, errors}; <- {type:"expect", sets}; -> {type:"result", ...}
import { openCtmWatchers } from "./open-ctm-watchers.js";
import { openEtcdWatchers } from "./open-etcd-watchers.js";
import { percentile } from "./percentile.js";
import type { WatchPayload } from "./watch-delivery.js";

const [target, addressArg, key, watchersArg, channelsArg] = process.argv.slice(2);
const addresses = addressArg!.split(",");
const watchers = Number(watchersArg);
const channels = Number(channelsArg);

const latencies: number[] = [];
const byAddress = addresses.map((): number[] => []);
const lastSeq = new Int32Array(watchers).fill(-1);
const fanoutDoneMs = new Map<number, number>();
let outOfOrder = 0;
let lastDeliveryAt = process.hrtime.bigint();

function onDelivery(group: number, watcher: number, payload: WatchPayload, receivedNs: bigint): void {
  const ms = Number(receivedNs - BigInt(payload.sentNs)) / 1e6;
  latencies.push(ms);
  byAddress[group]!.push(ms);
  if (payload.seq <= lastSeq[watcher]!) outOfOrder++;
  lastSeq[watcher] = payload.seq;
  fanoutDoneMs.set(payload.seq, Math.max(fanoutDoneMs.get(payload.seq) ?? 0, ms));
  lastDeliveryAt = receivedNs;
}

const open = target === "etcd" ? openEtcdWatchers : openCtmWatchers;
const per = Math.ceil(watchers / addresses.length);
const handles = addresses.map((address, group) => {
  const first = group * per;
  const count = Math.max(0, Math.min(per, watchers - first));
  return open(address, key!, count, Math.max(1, Math.round(channels / addresses.length)), (w, payload, at) => onDelivery(group, first + w, payload, at));
});

void Promise.all(handles.map((h) => h.created)).then((all) =>
  process.send?.({ type: "ready", created: all.reduce((n, c) => n + c.created, 0), errors: all.flatMap((c) => c.errors).slice(0, 10) }),
);

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
      byAddress: addresses.map((address, g) => {
        const own = Float64Array.from(byAddress[g]!).sort();
        return { address, deliveries: own.length, p50Ms: percentile(own, 50), p99Ms: percentile(own, 99) };
      }),
    });
    for (const h of handles) h.close();
  }, 50);
});
process.on("disconnect", () => process.exit(0));
