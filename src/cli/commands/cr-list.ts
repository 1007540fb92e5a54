import { Command, Option } from "commander";
import { ChangeRequestState, ListChangeRequestsResponse } from "../../gen/ctm/v1/change_request_service.js";
import { run } from "../cli-context.js";
import { approvalCount } from "../format/change-request-fields.js";
import { STATE_NAMES, stateFromName, stateText } from "../format/change-state.js";
import { formatTime } from "../format/format-values.js";
import { renderTable } from "../format/render-table.js";

export function crListCommand(): Command {
  return new Command("list")
    .description("change requests, newest first: id, state, title, author, approvals, last change")
    .addOption(new Option("--state <state>", "only those in this state").choices(STATE_NAMES))
    .addOption(new Option("--prefix <prefix>", "only those whose every key is under this prefix"))
    .action(
      run<{ state?: string; prefix?: string }>(async (ctx, _args, o) => {
        const state = o.state === undefined ? ChangeRequestState.CHANGE_REQUEST_STATE_UNSPECIFIED : stateFromName(o.state);
        const r = await ctx.api.listChangeRequests({ state, prefix: o.prefix ?? "" });
        if (ctx.json) return ctx.printJson(ListChangeRequestsResponse.toJSON(r));
        if (r.changeRequests.length === 0) return ctx.print(ctx.c.dim(o.state ? `no change requests in state ${o.state}` : "no change requests"));
        const rows = r.changeRequests.map((cr) => [cr.id, stateText(cr.state, ctx.c), ctx.c.bold(cr.title), cr.author, approvalCount(cr), formatTime(cr.updated)]);
        ctx.print(renderTable(["id", "state", "title", "author", "approvals", "updated"], rows, ctx.c));
      }),
    );
}
