import { Command, Option } from "commander";
import { DiffResponse } from "../../gen/ctm/v1/config_service.js";
import { PatchOperation } from "../../gen/ctm/v1/record.js";
import { run } from "../cli-context.js";
import { entryText as text, entryTitle as title } from "../format/entry-side.js";
import { sideBySide } from "../format/side-by-side.js";
import { parsePositive } from "../parse/parse-numbers.js";

export function diffCommand(): Command {
  return new Command("diff")
    .description("what changed between two versions: side by side, or as an RFC 6902 JSON Patch")
    .argument("<key>")
    .addOption(new Option("--from <version>", "the older version (default: the one before --to)").argParser(parsePositive))
    .addOption(new Option("--to <version>", "the newer version (default: the current one)").argParser(parsePositive))
    .addOption(new Option("--patch", "print the RFC 6902 JSON Patch"))
    .action(
      run<{ from?: number; to?: number; patch?: boolean }>(async (ctx, [key], o) => {
        const r = await ctx.api.diff({ key: key!, fromVersion: o.from ?? 0, toVersion: o.to ?? 0 });
        if (ctx.json) return ctx.printJson(DiffResponse.toJSON(r));
        if (o.patch) return ctx.printJson(r.operations.map((op) => PatchOperation.toJSON(op)));
        if (r.operations.length === 0) return ctx.print(`no changes between ${title(r.from)} and ${title(r.to)}`);
        ctx.print(sideBySide(text(r.from), text(r.to), [title(r.from), title(r.to)], ctx.c, ctx.width));
      }),
    );
}
