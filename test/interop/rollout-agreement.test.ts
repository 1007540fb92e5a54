/**
 * Interop 1: Python writes a rollout, Go reads it per unit, TypeScript watches it; the daemon,
 * the three clients and the three bucketing ports all agree on value, variant and revision.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { reasonToJSON } from "../../src/gen/ctm/v1/rollout.js";
import { bucket, inPercentage, pickVariant, variantBucket } from "@ctm/core/bucketing";
import { api, connect, headRevision, type Client } from "../helpers/client.js";
import { Daemon } from "../helpers/daemon.js";
import { WatchStream } from "../helpers/watch-stream.js";
import { GO_BUILD_MS, GoPath, run, runPython } from "./helpers.js";

let daemon: Daemon;
let client: Client;
let gopath: GoPath;
let goInterop: string;

beforeAll(async () => {
  // The Go build is the slow part: once per file.
  gopath = await GoPath.create();
  goInterop = await gopath.build("ctm.dev/clients/go/cmd/interop");
  daemon = await Daemon.start();
  client = connect(daemon.address);
}, GO_BUILD_MS);
afterAll(async () => {
  client?.close();
  await daemon?.dispose();
  await gopath?.dispose();
});

// 300 ASCII units plus non-ASCII ones (UTF-8 bytes must be hashed the same everywhere).
const UNITS = [
  ...Array.from({ length: 300 }, (_, i) => `user-${i}`),
  "josé",
  "Straße",
  "山田太郎",
  "محمد",
  "😀",
  "İstanbul",
  "mixed-José-山田-😀-שלום",
];
const PERCENT = 30;
const VARIANTS = [
  { name: "red", weight: 50 },
  { name: "green", weight: 30 },
  { name: "blue", weight: 20 },
];

interface GoAnswer {
  unit: string;
  value: unknown;
  variant: string;
  reason: string;
  revision: number;
  version: number;
  bucket: number;
  variant_bucket: number;
  predicted: string;
}
interface PyPrediction {
  unit: string;
  bucket: number;
  variant_bucket: number;
  variant: string;
}

describe("Python sets, Go gets, TypeScript watches", () => {
  it("agree on value, variant and revision for every unit", async () => {
    const key = "interop.checkout.color";
    const c = api(client);
    const watch = new WatchStream(client, { key, prefix: false, startRevision: (await headRevision(client)) + 1 });
    try {
      await watch.until(() => watch.responses.length >= 1); // CREATED: registered before the write

      // Python writes the rollout (30%, 3 weighted variants, default salt) and predicts locally.
      const py = JSON.parse((await runPython(["set-rollout", "--addr", daemon.address, "--key", key, "--units", JSON.stringify(UNITS)])).stdout) as {
        revision: number;
        salt: string;
        percent: number;
        predictions: PyPrediction[];
      };
      expect(py.salt).toBe(key);
      expect(py.percent).toBe(PERCENT);

      // TypeScript sees exactly that write on its watch.
      await watch.until(() => watch.events.length >= 1);
      const event = watch.events[0]!;
      expect(event.revision).toBe(py.revision);
      expect(event.value).toEqual({ color: "new" });
      expect(event.rollout!.plan!.salt).toBe(key);
      expect(event.rollout!.plan!.variants.map((v) => [v.name, v.weight])).toEqual(VARIANTS.map((v) => [v.name, v.weight]));

      // Go reads the key for every unit (context.unit_id) and predicts with its own bucketing.
      const go = JSON.parse((await run(goInterop, ["get-units", "-addr", daemon.address, "-key", key, "-percent", String(PERCENT), "-units", JSON.stringify(UNITS)])).stdout) as GoAnswer[];
      expect(go.map((a) => a.unit)).toEqual(UNITS);
      expect(py.predictions.map((p) => p.unit)).toEqual(UNITS);

      const counts: Record<string, number> = {};
      for (let i = 0; i < UNITS.length; i++) {
        const unit = UNITS[i]!;
        const g = go[i]!;
        const p = py.predictions[i]!;
        const ts = await c.get({ key, context: { unitId: unit, environment: "", attributes: {}, requestId: "" } });
        const b = bucket(key, unit);
        const local = inPercentage(b, PERCENT) ? pickVariant(key, unit, VARIANTS)!.name : "stable";
        const where = `unit ${JSON.stringify(unit)}`;
        // The daemon's answer, as Go and TypeScript received it.
        expect({ value: g.value, variant: g.variant, reason: g.reason, revision: g.revision }, where).toEqual({
          value: ts.value,
          variant: ts.variant,
          reason: reasonToJSON(ts.reason!).replace(/^REASON_/, ""),
          revision: event.revision,
        });
        expect(ts.entry!.revision, where).toBe(event.revision);
        expect(ts.value, where).toEqual({ color: ts.variant === "stable" ? "gray" : ts.variant });
        expect(g.reason, where).toBe(ts.variant === "stable" ? "OUT_OF_ROLLOUT" : "VARIANT");
        // Local bucketing in three languages predicts the daemon's answer.
        expect([g.bucket, p.bucket], where).toEqual([b, b]);
        expect([g.variant_bucket, p.variant_bucket], where).toEqual([variantBucket(key, unit), variantBucket(key, unit)]);
        expect({ ts: local, go: g.predicted, python: p.variant }, where).toEqual({ ts: ts.variant, go: ts.variant, python: ts.variant });
        counts[ts.variant] = (counts[ts.variant] ?? 0) + 1;
      }
      // A real split: about 30% in, and each variant served (not a degenerate all-stable answer).
      expect(counts.stable).toBeGreaterThan(UNITS.length * 0.55);
      expect(counts.stable).toBeLessThan(UNITS.length * 0.85);
      for (const v of VARIANTS) expect(counts[v.name], v.name).toBeGreaterThan(5);

      // Nothing else was written to the key meanwhile: everyone saw the one revision.
      expect(watch.events.map((e) => e.revision)).toEqual([py.revision]);
    } finally {
      watch.cancel();
    }
  });
});
