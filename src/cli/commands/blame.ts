import { Command } from "commander";
import { BlameResponse } from "../../gen/ctm/v1/config_service.js";
import { run } from "../cli-context.js";
import { compactJson, formatTime } from "../format/format-values.js";
import { renderTable } from "../format/render-table.js";
import { who } from "../format/who.js";

export function blameCommand(): Command {
  return new Command("blame")
    .description("which version last changed each leaf of the current value")
    .argument("<key>")
    .action(
      run(async (ctx, [key]) => {
        const r = await ctx.api.blame({ key: key! });
        if (ctx.json) return ctx.printJson(BlameResponse.toJSON(r));
        const rows = r.lines.map((l) => [l.path || "(value)", compactJson(l.value, 40), l.version, formatTime(l.time), who(l), l.message]);
        ctx.print(renderTable(["path", "value", "version", "time", "author", "message"], rows, ctx.c));
      }),
    );
}
