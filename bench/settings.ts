/** What one bench run measures, and for how long. Only the durations come from the environment. */
export const settings = {
  /** Per measurement, after the warm-up (BENCH_SECONDS). */
  seconds: Number(process.env["BENCH_SECONDS"] ?? 8),
  warmupSeconds: 2,
  /** ctmd-vs-baseline rows: rounds of one run each, alternating (BENCH_ROUNDS), and each run's length. */
  rounds: Number(process.env["BENCH_ROUNDS"] ?? 3),
  roundSeconds: Math.max(2, Math.round(Number(process.env["BENCH_SECONDS"] ?? 8) / 2)),
  /** grpc-js calls per latency (p50/p99) run. */
  latencyCalls: 2000,
  fsyncSeconds: 3,
  watchers: 1000,
  watchChannels: 8,
  watchWrites: 200,
  /** Writes before those, not timed: each run's watchers' processes start cold (see runWatchFanout). */
  watchWarmupWrites: 50,
  // At 10 ms (100k deliveries/s) etcd's fan-out already backs up on 2 cores, and the latency
  // then measures queueing, not delivery (BENCH_WATCH_SPACING_MS).
  watchSpacingMs: Number(process.env["BENCH_WATCH_SPACING_MS"] ?? 20),
  /** concurrency = connections × streams per connection (h2load -c × -m). */
  levels: [
    { concurrency: 1, connections: 1, streams: 1 },
    { concurrency: 16, connections: 4, streams: 4 },
    { concurrency: 64, connections: 4, streams: 16 },
  ],
  c64: { concurrency: 64, connections: 4, streams: 16 },
  /** Bulk Apply calls at once: four connections of one call each. */
  bulk: { concurrency: 4, connections: 4, streams: 1 },
} as const;

export type Level = (typeof settings.levels)[number];

export const paths = {
  get: "/ctm.v1.ConfigService/Get",
  set: "/ctm.v1.ConfigService/Set",
  apply: "/ctm.v1.ConfigService/Apply",
  range: "/etcdserverpb.KV/Range",
  put: "/etcdserverpb.KV/Put",
} as const;
