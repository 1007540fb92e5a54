import type { Observation } from "../domain/health/health-check.js";

const TIMEOUT_MS = 5000;

/** One probe: the expected status, within the latency limit. */
export async function probeHttp(url: string, expectStatus: number, maxLatencyMs?: number): Promise<{ ok: boolean; detail: string }> {
  const started = performance.now();
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(maxLatencyMs ?? TIMEOUT_MS), redirect: "manual" });
    await res.arrayBuffer();
    const ms = performance.now() - started;
    if (res.status !== expectStatus) return { ok: false, detail: `status ${res.status}, expected ${expectStatus}` };
    if (maxLatencyMs !== undefined && ms > maxLatencyMs) return { ok: false, detail: `${ms.toFixed(0)} ms > ${maxLatencyMs} ms` };
    return { ok: true, detail: `status ${res.status} in ${ms.toFixed(0)} ms` };
  } catch (e) {
    return { ok: false, detail: (e as Error).message };
  }
}

/** An instant query against the Prometheus HTTP API; its first sample is the value. */
export async function queryPrometheus(base: string, query: string): Promise<number> {
  const url = new URL("/api/v1/query", base);
  url.searchParams.set("query", query);
  const res = await fetch(url, { signal: AbortSignal.timeout(TIMEOUT_MS) });
  const body = (await res.json()) as {
    status: string;
    error?: string;
    data?: { resultType: string; result: unknown };
  };
  if (body.status !== "success" || !body.data) throw new Error(`prometheus: ${body.error ?? `HTTP ${res.status}`}`);
  const { resultType, result } = body.data;
  let raw: string | undefined;
  if (resultType === "scalar") raw = (result as [number, string])[1];
  else if (resultType === "vector") raw = (result as { value: [number, string] }[])[0]?.value[1];
  if (raw === undefined) throw new Error(`prometheus: "${query}" returned no samples`);
  const n = Number(raw);
  if (!Number.isFinite(n)) throw new Error(`prometheus: "${query}" returned ${raw}`);
  return n;
}

export async function prometheusObservation(base: string, query: string, stableQuery: string | undefined, key: string): Promise<Observation> {
  const q = (s: string) => s.replaceAll("{{key}}", key);
  try {
    const canary = await queryPrometheus(base, q(query));
    const stable = stableQuery ? await queryPrometheus(base, q(stableQuery)) : undefined;
    return { canary: { rate: canary }, stable: stable === undefined ? undefined : { rate: stable } };
  } catch (e) {
    return { canary: { rate: NaN }, unavailable: (e as Error).message };
  }
}
