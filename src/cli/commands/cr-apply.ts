import { status } from "@grpc/grpc-js";
import { Command, Option } from "commander";
import { ApplyChangeRequestResponse } from "../../gen/ctm/v1/change_request_service.js";
import { run } from "../cli-context.js";
import { CliError } from "../cli-error.js";
import { isServiceError } from "../exit-codes.js";
import { formatTime } from "../format/format-values.js";
import { relativeTime } from "../format/relative-time.js";
import { writtenEntries } from "../format/written-entries.js";
import { parseTime } from "../parse/parse-time.js";

export function crApplyCommand(): Command {
  return new Command("apply")
    .description("write an approved request in one batch; ABORTED (10) if a key changed after its base revision")
    .argument("<id>")
    .addOption(new Option("--at <time>", 'apply it later instead: "in 2h" or an RFC 3339 time (the request is scheduled)').argParser((t) => parseTime(t)))
    .action(
      run<{ at?: Date }>(async (ctx, [id], o) => {
        const r = await ctx.api.applyChangeRequest({ id, author: ctx.author, at: o.at }).catch((e: unknown) => {
          // The request now shows the conflict; what to do next is one command away.
          if (!isServiceError(e) || e.code !== status.ABORTED || ctx.json) throw e;
          throw new CliError(e.code, e.details || e.message, `ctm cr show ${id} shows the conflict; ctm cr edit ${id} rebases it on the head`);
        });
        if (ctx.json) return ctx.printJson(ApplyChangeRequestResponse.toJSON(r));
        const cr = r.changeRequest!;
        if (cr.scheduledAt && r.entries.length === 0) {
          return ctx.print(`${ctx.c.green("✓")} scheduled change request ${ctx.c.bold(cr.id)} for ${formatTime(cr.scheduledAt)} (${relativeTime(cr.scheduledAt)})`);
        }
        ctx.print(writtenEntries(r.entries, ctx.c));
        const n = r.entries.length;
        ctx.print(`${ctx.c.green("✓")} applied change request ${ctx.c.bold(cr.id)}: ${n} operation${n === 1 ? "" : "s"} in one batch (revision ${cr.appliedRevision})`);
      }),
    );
}
