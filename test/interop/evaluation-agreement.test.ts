/**
 * Interop: the daemon and the three local evaluators (TypeScript, Python, Go) agree, context
 * by context, for 10,000 contexts on four rolling keys at two moments of each plan. The daemon
 * answers GetAt at each moment (the entry live then, resolved as it was served then); each SDK
 * resolves that same entry locally at that moment.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { evaluateEntry } from "../../clients/ts/src/index.js";
import { Entry as SdkEntry } from "../../clients/ts/src/gen/ctm/v1/record.js";
import { Entry } from "../../src/gen/ctm/v1/record.js";
import { AttributeOperator, reasonToJSON, type RolloutPlan } from "../../src/gen/ctm/v1/rollout.js";
import { api, connect } from "../helpers/client.js";
import { Daemon } from "../helpers/daemon.js";
import { GO_BUILD_MS, GoPath, runPython } from "./helpers.js";
import { execFile } from "node:child_process";
import { promisify } from "node:util";

const run = promisify(execFile);
let gopath: GoPath;
let bin: string;
let work: string;
let daemon: Daemon;

beforeAll(async () => {
  gopath = await GoPath.create();
  bin = await gopath.build("ctm.dev/clients/go/cmd/interop");
  work = await mkdtemp(join(tmpdir(), "ctm-agreement-"));
  daemon = await Daemon.start();
}, GO_BUILD_MS);

afterAll(async () => {
  await daemon?.dispose();
  await gopath?.dispose();
  await rm(work, { recursive: true, force: true });
});

const plan = (p: Partial<RolloutPlan>): RolloutPlan => ({ salt: "", earlyAdopters: [], pinned: [], rules: [], variants: [], interpolate: false, ...p }) as RolloutPlan;
const sec = (s: number) => ({ seconds: Math.floor(s), nanos: Math.round((s % 1) * 1e9) });
const ENVS = ["dev", "staging", "prod", ""];
const CONTEXTS: { unitId: string; environment: string; attributes: Record<string, string> }[] = Array.from({ length: 10_000 }, (_, i) => ({
  unitId: i % 11 === 0 ? `ünï-${i}` : i % 13 === 0 ? `用户-${i}` : i % 17 === 0 ? `🚀${i}` : `user-${i}`,
  environment: ENVS[i % 4]!,
  attributes: (i % 3 === 0 ? { country: "NZ", app_version: `${i % 4}.${i % 10}.0` } : i % 3 === 1 ? { country: "US", app_version: "2.0.0-beta.1" } : {}) as Record<string, string>,
}));
type Answer = [unknown, string, string];

describe("the daemon and three local evaluators", () => {
  it("agree for 10,000 contexts on four rolling keys at two moments of each plan", async () => {
    const client = connect(daemon.address);
    const c = api(client);
    try {
      const specs: [string, unknown, RolloutPlan][] = [
        [
          "agree/steps",
          "new",
          plan({
            stable: "old",
            earlyAdopters: ["user-1", "ünï-11"],
            pinned: [{ unitId: "user-2", serve: "b" }],
            rules: [{ rule: { $case: "unitIdRegex", value: "^ünï-1\\d*$" } }, { rule: { $case: "attribute", value: { attribute: "country", operator: AttributeOperator.ATTRIBUTE_OPERATOR_IN, values: ["NZ"] } } }],
            variants: [
              { name: "a", weight: 5, value: "new-a" },
              { name: "b", weight: 3, value: "new-b" },
              { name: "c", weight: 2, value: "new-c" },
            ],
            percentage: { $case: "steps", value: { start: 10, increment: 30, interval: sec(1), target: 100 } },
          }),
        ],
        ["agree/ramp-down", { on: true }, plan({ stable: { on: false }, percentage: { $case: "ramp", value: { from: 100, to: 0, duration: sec(3) } } })],
        [
          "agree/rings",
          3,
          plan({
            stable: 2,
            rings: { order: ["dev", "staging", "prod"], interval: sec(1) },
            rules: [{ rule: { $case: "attribute", value: { attribute: "app_version", operator: AttributeOperator.ATTRIBUTE_OPERATOR_SEMVER_GTE, values: ["2.0.0"] } } }],
            percentage: { $case: "steps", value: { start: 50, increment: 50, interval: sec(2), target: 100 } },
          }),
        ],
        ["agree/interpolate", 110, plan({ stable: 10, interpolate: true, percentage: { $case: "ramp", value: { from: 0, to: 100, duration: sec(3) } } })],
      ];
      const written: { key: string; time: number }[] = [];
      for (const [key, value, p] of specs) {
        await c.set({ key, value: p.stable });
        const s = await c.set({ key, value, rollout: p });
        written.push({ key, time: s.entry!.time!.getTime() });
      }
      // Two moments of each plan: just after it began, and well into it.
      const last = Math.max(...written.map((w) => w.time));
      await new Promise((r) => setTimeout(r, Math.max(0, last + 2700 - Date.now())));
      const moments = written.flatMap((w) => [w.time + 400, w.time + 2600].map((t) => ({ key: w.key, t })));

      // The daemon: GetAt per context, 64 calls in flight.
      const daemonAnswers: Answer[][] = [];
      const cases: { entry: string; now: number }[] = [];
      for (const m of moments) {
        const out: Answer[] = new Array(CONTEXTS.length);
        let entry: Entry | undefined;
        let next = 0;
        await Promise.all(
          Array.from({ length: 64 }, async () => {
            for (let i = next++; i < CONTEXTS.length; i = next++) {
              const r = await c.getAt({ key: m.key, at: { $case: "time", value: new Date(m.t) }, context: { ...CONTEXTS[i]!, requestId: "" } });
              entry ??= r.entry;
              expect(r.entry!.revision).toBe(entry!.revision);
              out[i] = [r.value ?? null, r.variant, reasonToJSON(r.reason).replace("REASON_", "").toLowerCase()];
            }
          }),
        );
        daemonAnswers.push(out);
        cases.push({ entry: Buffer.from(Entry.encode(entry!).finish()).toString("base64"), now: m.t });
      }
      // Several answers per key and moment: the plans were really in the middle of something
      // (an interpolated value is one for everybody, and moves between the two moments).
      for (const [k, answers] of daemonAnswers.entries()) {
        if (moments[k]!.key !== "agree/interpolate") expect(new Set(answers.map((a) => JSON.stringify(a))).size, moments[k]!.key).toBeGreaterThan(1);
      }
      const interpolated = daemonAnswers.filter((_, k) => moments[k]!.key === "agree/interpolate").map((a) => a[0]![0]);
      expect(interpolated[0]).not.toEqual(interpolated[1]);
      expect(new Set(daemonAnswers.flat().map((a) => a[2]))).toEqual(new Set(["early_adopter", "pinned", "rule_match", "variant", "out_of_rollout", "in_rollout", "ring_not_reached"]));

      // TypeScript, Python and Go, locally, from the same entries.
      const ts = cases.map((k) => {
        const e = SdkEntry.decode(Buffer.from(k.entry, "base64"));
        return CONTEXTS.map((x): Answer => {
          const r = evaluateEntry(e, x, k.now);
          return [r.value ?? null, r.variant, r.reason];
        });
      });
      const input = join(work, "cases.json");
      await writeFile(input, JSON.stringify({ cases, contexts: CONTEXTS }));
      const py = JSON.parse((await runPython(["eval-units", "--in", input], 120_000)).stdout) as { results: Answer[][] };
      const go = JSON.parse((await run(bin, ["eval-units", "-in", input], { env: gopath.env, maxBuffer: 64 * 2 ** 20 })).stdout) as { results: Answer[][] };

      for (const [name, got] of [
        ["TypeScript", ts],
        ["Python", py.results],
        ["Go", go.results],
      ] as const) {
        for (const [k, m] of moments.entries()) {
          const wrong = CONTEXTS.flatMap((x, i) => (JSON.stringify(got[k]![i]) === JSON.stringify(daemonAnswers[k]![i]) ? [] : [`${x.unitId}/${x.environment}: ${JSON.stringify(got[k]![i])} != ${JSON.stringify(daemonAnswers[k]![i])}`]));
          expect(wrong.slice(0, 5), `${name}, ${m.key} at +${m.t - written.find((w) => w.key === m.key)!.time} ms: ${wrong.length} of ${CONTEXTS.length} differ`).toEqual([]);
        }
      }
    } finally {
      client.close();
    }
  }, 180_000);
});
