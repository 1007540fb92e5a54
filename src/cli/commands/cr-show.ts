import { Command, Option } from "commander";
import { GetChangeRequestResponse, type ChangeRequest } from "../../gen/ctm/v1/change_request_service.js";
import { PatchOperation } from "../../gen/ctm/v1/record.js";
import { run } from "../cli-context.js";
import { changeRequestFields } from "../format/change-request-fields.js";
import { keyChangeDiff, keyChangeHeading } from "../format/key-change-diff.js";
import { renderFields } from "../format/render-table.js";
import { describePlan } from "../format/describe-plan.js";
import type { RolloutPlan } from "../../gen/ctm/v1/rollout.js";

/** The value a request proposes for each key it sets (its last set of the key), and the plan rolling it out. */
function proposedValues(cr: ChangeRequest): Map<string, { value: unknown; plan?: RolloutPlan }> {
  const out = new Map<string, { value: unknown; plan?: RolloutPlan }>();
  for (const { operation: op } of cr.operations) if (op?.$case === "set") out.set(op.value.key, { value: op.value.value, ...(op.value.rollout ? { plan: op.value.rollout } : {}) });
  return out;
}

export function crShowCommand(): Command {
  return new Command("show")
    .description("a request: its fields, approvals, rejection or conflict, and per key the live value beside the one proposed")
    .argument("<id>")
    .addOption(new Option("--patch", "per key, the RFC 6902 JSON Patch from the live value instead"))
    .action(
      run<{ patch?: boolean }>(async (ctx, [id], o) => {
        const r = await ctx.api.getChangeRequest({ id });
        if (ctx.json) return ctx.printJson(GetChangeRequestResponse.toJSON(r));
        const cr = r.changeRequest!;
        ctx.print(renderFields(changeRequestFields(cr, ctx.c), ctx.c));
        const proposed = proposedValues(cr);
        for (const k of r.changes) {
          ctx.print();
          const p = proposed.get(k.key);
          if (!o.patch) ctx.print(keyChangeDiff(k, p?.value, ctx.c, ctx.width));
          else ctx.print(`${keyChangeHeading(k, ctx.c)}\n${k.deleted ? ctx.c.dim("(deleted)") : JSON.stringify(k.operations.map((op) => PatchOperation.toJSON(op)), null, 2)}`);
          if (p?.plan) ctx.print(`${ctx.c.dim("rolled out:")} ${ctx.c.yellow(describePlan(p.plan))}`);
        }
      }),
    );
}
