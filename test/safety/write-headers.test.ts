import { afterEach, describe, expect, it } from "vitest";
import { ValueType } from "../../src/gen/ctm/v1/validator_service.js";
import { Daemon } from "../helpers/daemon.js";
import { healthApi, rule, validatorApi } from "../helpers/safety-clients.js";

const cleanups: (() => Promise<unknown> | void)[] = [];
afterEach(async () => {
  for (const f of cleanups.splice(0).reverse()) await f();
});

describe("validator and health-check writes", () => {
  it("answer the header revision of the entry they wrote, not the one before", async () => {
    const daemon = await Daemon.start();
    cleanups.push(() => daemon.dispose());
    const v = validatorApi(daemon.address);
    const h = healthApi(daemon.address);
    cleanups.push(() => v.client.close(), () => h.client.close());

    const answers = [
      await v.setValidator({ validator: { name: "ints", keys: ["n/*"], rules: [rule.type(ValueType.VALUE_TYPE_INTEGER)] } }),
      await v.deleteValidator({ name: "ints" }),
      await h.setHealthCheck({ check: { name: "errs", keys: ["n/*"], source: { $case: "pushed", value: {} }, maxErrorRate: 0.1 } }),
      await h.deleteHealthCheck({ name: "errs" }),
    ];
    // Four writes in a row on a fresh store: revisions 1..4, each answered with its own revision.
    expect(answers.map((a) => a.entry!.revision)).toEqual([1, 2, 3, 4]);
    expect(answers.map((a) => a.header!.revision)).toEqual([1, 2, 3, 4]);
  });
});
