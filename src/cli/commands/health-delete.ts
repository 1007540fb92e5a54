import { Command, Option } from "commander";
import { DeleteHealthCheckResponse } from "../../gen/ctm/v1/health_check_service.js";
import { run } from "../cli-context.js";

export function healthDeleteCommand(): Command {
  return new Command("delete")
    .description("delete a health check (a tombstone on _ctm/health/<name>: history keeps it)")
    .argument("<name>")
    .addOption(new Option("-m, --message <text>", "why: recorded in the history"))
    .action(
      run<{ message?: string }>(async (ctx, [name], o) => {
        const r = await ctx.api.deleteHealthCheck({ name: name!, author: ctx.author, message: o.message ?? "" });
        if (ctx.json) return ctx.printJson(DeleteHealthCheckResponse.toJSON(r));
        ctx.print(`${ctx.c.green("✓")} deleted health check ${ctx.c.bold(name!)} v${r.entry!.version} (revision ${r.entry!.revision})`);
      }),
    );
}
