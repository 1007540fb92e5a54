import { pino } from "pino";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { LogRecord } from "@ctm/core/record";
import type { LevelLogStore } from "../storage/level/level-log-store.js";
import type { ConfigService } from "./config-service.js";
import { tempStore, type TempStore } from "../../test/helpers/temp-store.js";
import { Metrics } from "./metrics.js";
import { StaleViews } from "./stale-views.js";

let t: TempStore;
let store: LevelLogStore;
let config: ConfigService;

beforeEach(async () => {
  t = await tempStore("stale");
  ({ store, config: config } = t);
});
afterEach(() => t.dispose());

describe("StaleViews, the store's listener-error hook", () => {
  it("a listener that throws marks the views stale, logs a structured error and counts it, with no process warning", async () => {
    const metrics = new Metrics();
    const lines: Record<string, unknown>[] = [];
    const views = new StaleViews(pino({}, { write: (l: string) => void lines.push(JSON.parse(l) as Record<string, unknown>) }), metrics);
    store.onListenerError = views.listenerFailed;
    const warnings: Error[] = [];
    const onWarning = (w: Error) => void warnings.push(w);
    process.on("warning", onWarning);
    try {
      const watcher = config.watch("k", false, 0);
      store.onCommit((records) => {
        if (records.some((r) => r.value === "boom")) throw new Error("view update failed");
      });
      await config.set({ key: "k", value: "fine" });
      expect(views.stale).toBe(false);
      const r = await config.set({ key: "k", value: "boom" });
      expect(views.stale).toBe(true);
      // The batch is durable and the other views got it.
      expect(store.latest("k")).toEqual(r);
      const delivered = (await watcher.next()).value as LogRecord[];
      expect(delivered.map((x) => x.value)).toEqual(["fine", "boom"]);
      watcher.close();
      await new Promise((resolve) => setImmediate(resolve));
      expect(warnings.filter((w) => w.name === "CommitListenerError")).toEqual([]);
    } finally {
      process.off("warning", onWarning);
    }
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 50, failures: 1, err: { message: "view update failed" } });
    expect(await metrics.registry.getSingleMetricAsString("ctm_commit_listener_errors_total")).toMatch(/ctm_commit_listener_errors_total 1$/m);
    expect(await metrics.registry.getSingleMetricAsString("ctm_views_stale")).toMatch(/ctm_views_stale 1$/m);
  });
});
