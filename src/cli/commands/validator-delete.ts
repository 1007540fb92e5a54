import { Command, Option } from "commander";
import { DeleteValidatorResponse } from "../../gen/ctm/v1/validator_service.js";
import { run } from "../cli-context.js";

export function validatorDeleteCommand(): Command {
  return new Command("delete")
    .description("delete a validator (a tombstone on _ctm/validators/<name>: history keeps it)")
    .argument("<name>")
    .addOption(new Option("-m, --message <text>", "why: recorded in the history"))
    .action(
      run<{ message?: string }>(async (ctx, [name], o) => {
        const r = await ctx.api.deleteValidator({ name: name!, author: ctx.author, message: o.message ?? "" });
        if (ctx.json) return ctx.printJson(DeleteValidatorResponse.toJSON(r));
        ctx.print(`${ctx.c.green("✓")} deleted validator ${ctx.c.bold(name!)} v${r.entry!.version} (revision ${r.entry!.revision})`);
      }),
    );
}
