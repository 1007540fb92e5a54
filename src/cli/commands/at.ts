import { Command, Option } from "commander";
import { GetAtResponse } from "../../gen/ctm/v1/config_service.js";
import { run } from "../cli-context.js";
import { printEntry } from "../format/print-entry.js";
import { addContextOptions, contextFromFlags, type ContextFlags } from "../parse/parse-context.js";
import { parseCount } from "../parse/parse-numbers.js";
import { parseTime } from "../parse/parse-time.js";

export function atCommand(): Command {
  const cmd = new Command("at")
    .description("time travel: what a key was at a time (ctm at 2026-01-15T03:47Z db.pool_size) or a revision (ctm at --revision 42 db.pool_size)")
    .argument("<time|key>", 'an RFC 3339 time (seconds optional), "now" or "15m ago"; the key with --revision')
    .argument("[key]")
    .addOption(new Option("--revision <n>", "at this revision instead of a time").argParser(parseCount));
  return addContextOptions(cmd).action(
    run<ContextFlags & { revision?: number }>(async (ctx, [first, second], o, self) => {
      if (o.revision !== undefined && second !== undefined) self.error("error: with --revision, give only the key", { exitCode: 2 });
      if (o.revision === undefined && second === undefined) self.error("error: missing key: ctm at <time> <key>, or ctm at --revision <n> <key>", { exitCode: 2 });
      let at: { $case: "time"; value: Date } | { $case: "revision"; value: number };
      if (o.revision !== undefined) at = { $case: "revision", value: o.revision };
      else {
        try {
          at = { $case: "time", value: parseTime(first!) };
        } catch (e) {
          return self.error(`error: argument 'time' is invalid. ${(e as Error).message}`, { exitCode: 2 });
        }
      }
      const key = second ?? first!;
      const context = contextFromFlags(o);
      const r = await ctx.api.getAt({ key, at, context });
      if (ctx.json) return ctx.printJson(GetAtResponse.toJSON(r));
      printEntry(ctx, r.entry!, context ? r : undefined, [["as of", `revision ${r.revision}`]]);
    }),
  );
}
