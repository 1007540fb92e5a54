// Child process: holds the watch streams of one server in a fan-out run, so that decoding their
// deliveries stalls neither the driver that times the writes nor the watchers of another server.
// argv: <ctm|etcd> <address> <key> <watchers> <channels> <warm-up writes>
//   The first <warm-up writes> (seq below it) are delivered and checked, not timed.
// IPC: -> {type:"ready", created, errors}; <- {type:"expect", sets}; -> {type:"result", ...}
import { openCtmWatchers } from "./open-ctm-watchers.js";
import { openEtcdWatchers } from "./open-etcd-watchers.js";
import type { WatchPayload } from "./watch-delivery.js";

const [target, address, key, watchersArg, channelsArg, warmupArg] = process.argv.slice(2);
const watchers = Number(watchersArg);
const channels = Number(channelsArg);
const warmup = Number(warmupArg ?? 0);

const latencies: number[] = [];
const warmupLatencies: number[] = [];
const lastSeq = new Int32Array(watchers).fill(-1);
/** Put-to-last-watcher of each timed write, by seq - warmup. */
const lastMs: number[] = [];
let outOfOrder = 0;
let lastDeliveryAt = process.hrtime.bigint();

function onDelivery(watcher: number, payload: WatchPayload, receivedNs: bigint): void {
  const ms = Number(receivedNs - BigInt(payload.sentNs)) / 1e6;
  if (payload.seq <= lastSeq[watcher]!) outOfOrder++;
  lastSeq[watcher] = payload.seq;
  lastDeliveryAt = receivedNs;
  if (payload.seq < warmup) {
    warmupLatencies.push(ms);
    return;
  }
  latencies.push(ms);
  const i = payload.seq - warmup;
  lastMs[i] = Math.max(lastMs[i] ?? 0, ms);
}

const open = target === "etcd" ? openEtcdWatchers : openCtmWatchers;
const handle = open(address!, key!, watchers, channels, onDelivery);

void handle.created.then((c) => process.send?.({ type: "ready", created: c.created, errors: c.errors.slice(0, 10) }));

process.on("message", (message: { type: string; sets: number }) => {
  if (message.type !== "expect") return;
  const expected = watchers * (message.sets + warmup);
  // Bounded wait: until every delivery arrived, or nothing new came for 10 s.
  const poll = setInterval(() => {
    const idleMs = Number(process.hrtime.bigint() - lastDeliveryAt) / 1e6;
    if (latencies.length + warmupLatencies.length < expected && idleMs < 10_000) return;
    clearInterval(poll);
    process.send?.({ type: "result", latencies, warmupLatencies, lastMs: Array.from({ length: message.sets }, (_, i) => lastMs[i] ?? Number.NaN), outOfOrder });
    handle.close();
  }, 50);
});
process.on("disconnect", () => process.exit(0));
