import * as grpc from "@grpc/grpc-js";
import { GetAtRequest, GetAtResponse, HistoryRequest, HistoryResponse, SetRequest, SetResponse } from "../src/gen/ctm/v1/config_service.js";
import type { BenchContext } from "./bench-context.js";
import { pool } from "./bench-snapshot.js";
import { formatMs, formatRatio } from "./format.js";
import { median } from "./paired-rounds.js";
import type { RawClient } from "./raw-client.js";
import { paths, settings } from "./settings.js";

/** A build under test: its name and a client of its daemon. */
export interface BuildSide {
  name: string;
  c: RawClient;
}

/** Outside the listed prefix: the listings and the RollbackPrefix after these rounds leave it alone. */
const HOT = "time-travel/hot";
const VERSIONS = Number(process.env["BENCH_HOT_VERSIONS"] ?? 20_000);
const CALLS = 300;

/**
 * GetAt and History of one key with VERSIONS versions (written 64 at a time, as clients change
 * one flag), on both builds in alternating rounds: calls one after another, each checked. A
 * key's revisions used to be found by a reverse seek in the key index, which costs more the
 * more versions the key has.
 */
export async function timeTravelRounds(ctx: BenchContext, sides: BuildSide[]): Promise<void> {
  const bodies = new Map<BuildSide, { getAt: Uint8Array; history: Uint8Array; at: number }>();
  for (const side of sides) {
    let head = 0;
    await pool(VERSIONS, 64, async (i) => {
      const r = await side.c.unary(paths.set, SetRequest.encode(SetRequest.fromPartial({ key: HOT, value: { i } })).finish(), 60_000);
      if (r.code !== grpc.status.OK) throw new Error(`${side.name}: Set ${grpc.status[r.code]} ${r.details}`);
      head = Math.max(head, SetResponse.decode(r.body!).header!.revision);
    });
    // Half-way through the key's versions: a record read back from the log.
    const at = head - Math.floor(VERSIONS / 2);
    bodies.set(side, {
      getAt: GetAtRequest.encode(GetAtRequest.fromPartial({ key: HOT, at: { $case: "revision", value: at } })).finish(),
      history: HistoryRequest.encode(HistoryRequest.fromPartial({ key: HOT, limit: 100 })).finish(),
      at,
    });
  }
  const runs = new Map(sides.map((s) => [s, { getAt: [] as number[], history: [] as number[] }]));
  let answered = 0;
  const timed = async (side: BuildSide, path: string, body: Uint8Array, check: (b: Buffer) => boolean): Promise<number> => {
    const t0 = performance.now();
    for (let i = 0; i < CALLS; i++) {
      const r = await side.c.unary(path, body);
      if (r.code !== grpc.status.OK || !check(r.body!)) throw new Error(`${side.name}: ${path} ${grpc.status[r.code]} ${r.details}`);
      answered++;
    }
    return (performance.now() - t0) / CALLS;
  };
  for (let round = 0; round < settings.rounds; round++) {
    for (const side of round % 2 === 0 ? sides : [...sides].reverse()) {
      const b = bodies.get(side)!;
      runs.get(side)!.getAt.push(await timed(side, "/ctm.v1.ConfigService/GetAt", b.getAt, (x) => GetAtResponse.decode(x).entry?.revision === b.at));
      runs.get(side)!.history.push(await timed(side, "/ctm.v1.ConfigService/History", b.history, (x) => HistoryResponse.decode(x).entries.length === 100));
    }
    ctx.log(`time travel round ${round + 1}: ${sides.map((s) => `${s.name} GetAt ${runs.get(s)!.getAt[round]!.toFixed(3)} ms, History ${runs.get(s)!.history[round]!.toFixed(3)} ms`).join("; ")}`);
  }
  ctx.report.check(answered === sides.length * settings.rounds * 2 * CALLS, `GetAt and History of a key with ${VERSIONS.toLocaleString("en-US")} versions, both builds, ${settings.rounds} rounds of ${CALLS} calls: ${answered} calls, every GetAt named the revision asked for, every History held 100 versions`);
  const [mine, base] = sides.map((s) => runs.get(s)!) as [{ getAt: number[]; history: number[] }, { getAt: number[]; history: number[] }];
  const row = (what: string, m: number[], b: number[]): void => {
    const ratios = m.map((v, i) => v / b[i]!);
    ctx.report.row(`${what}: this build vs the baseline build; rounds ${ratios.map((r) => r.toFixed(2)).join(", ")}`, formatMs(median(m)), formatMs(median(b)), formatRatio(median(m), median(b), median(ratios)));
  };
  row(`GetAt of a key with ${VERSIONS.toLocaleString("en-US")} versions, half-way back, mean ms per call`, mine.getAt, base.getAt);
  row("History of that key, its newest 100 versions, mean ms per call", mine.history, base.history);
}
