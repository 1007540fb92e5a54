import { Command, Option } from "commander";
import { ListValidatorsResponse } from "../../gen/ctm/v1/validator_service.js";
import { run } from "../cli-context.js";
import { describeRules } from "../format/describe-rule.js";
import { renderTable } from "../format/render-table.js";

export function validatorListCommand(): Command {
  return new Command("list")
    .description("the validators, or those that apply to a key: name, key globs, rules")
    .addOption(new Option("--key <key>", "only validators whose globs match this key"))
    .action(
      run<{ key?: string }>(async (ctx, _args, o) => {
        const r = await ctx.api.listValidators({ key: o.key ?? "" });
        if (ctx.json) return ctx.printJson(ListValidatorsResponse.toJSON(r));
        if (r.validators.length === 0) return ctx.print(ctx.c.dim(o.key ? `no validator applies to ${o.key}` : "no validators"));
        const rows = [...r.validators]
          .sort((a, b) => a.name.localeCompare(b.name))
          .map((v) => [ctx.c.bold(v.name), v.keys.join("\n"), describeRules(v), v.description || "-"]);
        ctx.print(renderTable(["name", "keys", "rules", "description"], rows, ctx.c));
      }),
    );
}
