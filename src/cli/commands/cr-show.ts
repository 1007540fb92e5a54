import { Command, Option } from "commander";
import { GetChangeRequestResponse, type ChangeRequest } from "../../gen/ctm/v1/change_request_service.js";
import { PatchOperation } from "../../gen/ctm/v1/record.js";
import { run } from "../cli-context.js";
import { changeRequestFields } from "../format/change-request-fields.js";
import { keyChangeDiff, keyChangeHeading } from "../format/key-change-diff.js";
import { renderFields } from "../format/render-table.js";

/** The value a request proposes for each key it sets: its last set of the key. */
function proposedValues(cr: ChangeRequest): Map<string, unknown> {
  const out = new Map<string, unknown>();
  for (const { operation: op } of cr.operations) if (op?.$case === "set") out.set(op.value.key, op.value.value);
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
          if (!o.patch) ctx.print(keyChangeDiff(k, proposed.get(k.key), ctx.c, ctx.width));
          else ctx.print(`${keyChangeHeading(k, ctx.c)}\n${k.deleted ? ctx.c.dim("(deleted)") : JSON.stringify(k.operations.map((op) => PatchOperation.toJSON(op)), null, 2)}`);
        }
      }),
    );
}
