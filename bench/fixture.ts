import { ApplyRequest, GetRequest, GetResponse, SetRequest } from "../src/gen/ctm/v1/config_service.js";
import { Reason } from "../src/gen/ctm/v1/rollout.js";
import { RecordKind } from "../src/gen/ctm/v1/record.js";

/** The key every Get measurement reads, seeded in ctmd and etcd with the same value. */
export const fixture = {
  key: "bench/flags/checkout",
  value: { enabled: true, rollout: 25, owner: "payments", variants: ["a", "b"] },
  setKey: "bench/set/one",
  watchKey: "bench/watch/fanout",

  getRequest(): Uint8Array {
    return GetRequest.encode({ key: fixture.key, consistent: false }).finish();
  },

  getRequestFor(key: string): Uint8Array {
    return GetRequest.encode({ key, consistent: false }).finish();
  },

  seedRequest(): Uint8Array {
    return SetRequest.encode({ key: fixture.key, value: fixture.value, author: "bench", message: "seed" }).finish();
  },

  /** Every h2load Set sends this same request: one key, so the version counts the writes. */
  /** A bulk load step: one Apply that sets `count` keys under bench/bulk/ (every call sets the same keys again). */
  applyRequest(count: number): Uint8Array {
    const operations = Array.from({ length: count }, (_, i) => ({
      operation: { $case: "set" as const, value: { key: `bench/bulk/k${String(i).padStart(5, "0")}`, value: { id: i, owner: `team-${i % 50}`, enabled: i % 3 === 0, note: "n".repeat(40) } } },
    }));
    return ApplyRequest.encode(ApplyRequest.fromPartial({ operations, author: "bench", message: "bulk" })).finish();
  },

  setRequest(): Uint8Array {
    return SetRequest.encode({ key: fixture.setKey, value: fixture.value, author: "bench", message: "load" }).finish();
  },

  /** What the no-op server answers: shaped like ctmd's answer to the seeded Get. */
  getResponse(): Uint8Array {
    return GetResponse.encode({
      header: { revision: 1, oldestRevision: 1 },
      value: fixture.value,
      variant: "",
      reason: Reason.REASON_STATIC,
      entry: {
        key: fixture.key,
        value: fixture.value,
        version: 1,
        revision: 1,
        time: new Date("2026-01-01T00:00:00Z"),
        author: "bench",
        message: "seed",
        kind: RecordKind.RECORD_KIND_SET,
        deleted: false,
        rolledBackTo: 0,
        principal: "",
        cause: "api",
        valueCompacted: false,
      breakGlass: false,
      changeRequest: "",
      },
    }).finish();
  },
};
