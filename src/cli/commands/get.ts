import { Command, Option } from "commander";
import { GetResponse } from "../../gen/ctm/v1/config_service.js";
import { run } from "../cli-context.js";
import { printEntry } from "../format/print-entry.js";
import { addContextOptions, contextFromFlags, type ContextFlags } from "../parse/parse-context.js";

export function getCommand(): Command {
  const cmd = new Command("get")
    .description("the current entry of a key; with --unit/--env/--attr, the value that unit is served")
    .argument("<key>");
  addContextOptions(cmd).addOption(new Option("--request-id <id>", "tie this Get to a request: it is recorded in the access log (ctm access-log --request-id)"));
  return cmd.action(
    run<ContextFlags>(async (ctx, [key], o) => {
      const context = contextFromFlags(o);
      const r = await ctx.api.get({ key, context });
      if (ctx.json) return ctx.printJson(GetResponse.toJSON(r));
      printEntry(ctx, r.entry!, context ? r : undefined, o.requestId ? [["request id", o.requestId]] : []);
    }),
  );
}
