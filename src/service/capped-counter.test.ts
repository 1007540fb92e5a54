import { describe, expect, it } from "vitest";
import { OTHER_LABEL } from "./capped-counter.js";
import { MAX_NAMED_SERIES, Metrics } from "./metrics.js";

describe("metrics labelled by names clients choose", () => {
  it("keep at most MAX_NAMED_SERIES series; the rest count under _other and totals stay right", async () => {
    const m = new Metrics();
    const n = MAX_NAMED_SERIES + 500;
    for (let i = 0; i < n; i++) m.validatorRejections.inc({ validator: `validator-${i}` });
    m.validatorRejections.inc({ validator: "validator-0" });
    const { values } = await m.validatorRejections.get();
    expect(values.length).toBe(MAX_NAMED_SERIES + 1);
    expect(values.reduce((s, v) => s + v.value, 0)).toBe(n + 1);
    expect(values.find((v) => v.labels.validator === OTHER_LABEL)?.value).toBe(500);
    expect(values.find((v) => v.labels.validator === "validator-0")?.value).toBe(2);
  });

  it("a capped label keeps its other labels", async () => {
    const m = new Metrics();
    for (let i = 0; i < MAX_NAMED_SERIES + 2; i++) m.autoRollbacks.inc({ check: `c${i}`, action: i % 2 ? "pause" : "rollback" });
    const { values } = await m.autoRollbacks.get();
    const other = values.filter((v) => v.labels.check === OTHER_LABEL).map((v) => v.labels.action).sort();
    expect(other).toEqual(["pause", "rollback"]);
    expect(values.length).toBe(MAX_NAMED_SERIES + 2);
  });
});
