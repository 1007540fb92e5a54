import { status } from "@grpc/grpc-js";
import { Command } from "commander";
import { GetVerificationResponse, VerifyResponse, type Verification } from "../../gen/ctm/v1/admin_service.js";
import { run } from "../cli-context.js";
import { CliError } from "../cli-error.js";
import { formatTime } from "../format/format-values.js";
import { renderFields } from "../format/render-table.js";

export function verifyCommand(): Command {
  return new Command("verify")
    .description("check the whole log's hash chain and indexes while ctmd serves (--last: show the last check)")
    .option("--last", "show the last check's report without running one")
    .action(
      run(async (ctx, _args, opts: { last?: boolean }) => {
        const r = opts.last ? await ctx.api.getVerification({}) : await ctx.api.verify({});
        if (ctx.json) return ctx.printJson(opts.last ? GetVerificationResponse.toJSON(r) : VerifyResponse.toJSON(r));
        const v: Verification = r.verification!;
        ctx.print(
          renderFields(
            [
              ["result", v.ok ? ctx.c.green("intact") : ctx.c.red(`DAMAGED at revision ${v.firstBadRevision}`)],
              ["reason", v.ok ? undefined : v.reason],
              ["revisions", `${v.fromRevision}..${v.toRevision} (${v.recordsChecked} records)`],
              ["chain tip", v.headHash],
              ["checked", v.finishedAt ? formatTime(v.finishedAt) : undefined],
            ],
            ctx.c,
          ),
        );
        if (!v.ok) throw new CliError(status.DATA_LOSS, `the store failed verification at revision ${v.firstBadRevision}: ${v.reason}`);
      }),
    );
}
