import fc from "fast-check";
import { Histogram, Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { RpcLatencyHistogram } from "./rpc-latency-histogram.js";

const BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

/** prom-client's own Histogram, fed the same observations: the reference. */
function reference(observations: readonly [string, string, number][]): Registry {
  const registry = new Registry();
  const h = new Histogram({ name: "ctm_rpc_duration_seconds", help: "RPC latency by method and status code", labelNames: ["method", "code"], buckets: BUCKETS, registers: [registry] });
  for (const [method, code, s] of observations) h.labels(method, code).observe(s);
  return registry;
}

function fast(observations: readonly [string, string, number][]): { registry: Registry; h: RpcLatencyHistogram } {
  const registry = new Registry();
  const h = new RpcLatencyHistogram(registry);
  for (const [method, code, s] of observations) h.recorder(method, code)(s);
  return { registry, h };
}

describe("RpcLatencyHistogram", () => {
  it("renders exactly what prom-client's Histogram renders for the same observations", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.tuple(
            fc.constantFrom("Get", "Set", "Watch"),
            fc.constantFrom("OK", "NOT_FOUND"),
            fc.oneof(fc.constantFrom(...BUCKETS, 0, 3), fc.double({ min: 0, max: 5, noNaN: true })),
          ),
          { minLength: 1, maxLength: 200 },
        ),
        async (obs) => {
          // Series appear in first-observation order in both.
          expect(await fast(obs).registry.metrics()).toBe(await reference(obs).metrics());
        },
      ),
      { numRuns: 200 },
    );
  });

  it("puts a value equal to a bound in that bound's bucket, and counts values above every bound only in +Inf", async () => {
    const { h } = fast([
      ["Get", "OK", 0.001],
      ["Get", "OK", 0.0010001],
      ["Get", "OK", 9],
    ]);
    const json = await h.get();
    const bucket = (le: number | string) => json.values.find((v) => v.metricName === "ctm_rpc_duration_seconds_bucket" && (v.labels as { le?: number | string }).le === le)?.value;
    expect(bucket(0.0005)).toBe(0);
    expect(bucket(0.001)).toBe(1);
    expect(bucket(0.0025)).toBe(2);
    expect(bucket(2.5)).toBe(2);
    expect(bucket("+Inf")).toBe(3);
    expect(json.values.find((v) => v.metricName === "ctm_rpc_duration_seconds_count")).toMatchObject({ value: 3, labels: { method: "Get", code: "OK" } });
    expect(json.values.find((v) => v.metricName === "ctm_rpc_duration_seconds_sum")?.value).toBeCloseTo(9.0020001, 9);
  });

  it("serves the JSON form with the labels merged, as prom-client's Histogram does", async () => {
    const obs: [string, string, number][] = [
      ["Set", "OK", 0.02],
      ["Set", "ABORTED", 0.2],
    ];
    // Exemplars are off (null or absent), and collect is not data.
    const plain = (ms: Awaited<ReturnType<Registry["getMetricsAsJSON"]>>) =>
      ms.map(({ name, help, type, aggregator, values }) => ({ name, help, type, aggregator, values: values.map((v) => ({ labels: v.labels, value: v.value, metricName: (v as { metricName?: string }).metricName })) }));
    const mine = plain(await fast(obs).registry.getMetricsAsJSON());
    expect(mine[0]?.values).toHaveLength(2 * (BUCKETS.length + 3));
    expect(mine).toEqual(plain(await reference(obs).getMetricsAsJSON()));
  });
});
