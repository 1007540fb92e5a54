import { status } from "@grpc/grpc-js";
import { Command, Option } from "commander";
import { ValidateResponse } from "../../gen/ctm/v1/validator_service.js";
import { run } from "../cli-context.js";
import { CliError } from "../cli-error.js";
import { renderViolations } from "../format/violations.js";
import { parseJsonValue } from "../parse/parse-json-value.js";
import { addRolloutOptions, planFromFlags, type RolloutFlags } from "../parse/rollout-flags.js";

export function validateCommand(): Command {
  const cmd = new Command("validate")
    .description("dry run: would the validators accept this value (and rollout) for a key? exit 3 when not")
    .argument("<key>")
    .argument("<value>", "a JSON value; a plain string with --string")
    .addOption(new Option("-s, --string", "take <value> (and --stable, variant values) as plain strings, not JSON"));
  return addRolloutOptions(cmd)
    .addHelpText(
      "after",
      `
Nothing is written. Valid: exit 0. Invalid: the violations table, exit 3.
  ctm validate db.pool_size 900
  ctm validate checkout.v2 true --stable '"oops"' --steps 10,10,5m,100   (the rollout's candidates too)`,
    )
    .action(
      run<RolloutFlags & { string?: boolean }>(async (ctx, [key, text], o) => {
        const value = parseJsonValue(text!, "value", o.string);
        const rollout = await planFromFlags(o, o.string === true);
        const r = await ctx.api.validate({ key: key!, value, rollout });
        const n = r.violations.length;
        if (ctx.json) ctx.printJson(ValidateResponse.toJSON(r));
        else if (r.valid) ctx.print(`${ctx.c.green("✓")} valid: no validator refuses this value for ${ctx.c.bold(key!)}`);
        else {
          // Which rule each violation broke: the validators that apply to this key.
          const known = await ctx.api.listValidators({ key: key! }).then((l) => new Map(l.validators.map((v) => [v.name, v.rules])), () => new Map());
          ctx.print(renderViolations(r.violations, ctx.c, (name) => known.get(name)));
        }
        if (!r.valid) throw new CliError(status.INVALID_ARGUMENT, `invalid: ${n} violation${n === 1 ? "" : "s"} for ${key}`);
      }),
    );
}
