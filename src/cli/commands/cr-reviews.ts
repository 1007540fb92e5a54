import { Command, Option } from "commander";
import {
  ApproveChangeRequestResponse,
  CancelChangeRequestResponse,
  RejectChangeRequestResponse,
  SubmitChangeRequestResponse,
  type ChangeRequest,
} from "../../gen/ctm/v1/change_request_service.js";
import { run, type CliContext } from "../cli-context.js";
import { printChangeRequest } from "../format/print-change-request.js";

type Req = { id: string; comment: string; author: string };
interface Step {
  name: string;
  description: string;
  verb: string;
  /** Whether it takes -m: submit has no comment to record. */
  comment: boolean;
  call: (ctx: CliContext, req: Req) => Promise<{ changeRequest?: ChangeRequest | undefined }>;
  toJSON: (r: never) => unknown;
}

const STEPS: Step[] = [
  {
    name: "approve",
    description: "add your approval (with auth off: as --author); enough distinct approvers approve it",
    verb: "approved",
    comment: true,
    call: (ctx, r) => ctx.api.approveChangeRequest(r),
    toJSON: ApproveChangeRequestResponse.toJSON,
  },
  { name: "reject", description: "end a request as rejected", verb: "rejected", comment: true, call: (ctx, r) => ctx.api.rejectChangeRequest(r), toJSON: RejectChangeRequestResponse.toJSON },
  { name: "cancel", description: "the author withdraws a request", verb: "cancelled", comment: true, call: (ctx, r) => ctx.api.cancelChangeRequest(r), toJSON: CancelChangeRequestResponse.toJSON },
  { name: "submit", description: "the author puts a draft in review", verb: "submitted", comment: false, call: (ctx, r) => ctx.api.submitChangeRequest(r), toJSON: SubmitChangeRequestResponse.toJSON },
];

/** approve, reject, cancel [-m comment] and submit: each one state change of a request, by its caller. */
export function crReviewCommands(): Command[] {
  return STEPS.map((s) => {
    const cmd = new Command(s.name).description(s.description).argument("<id>");
    if (s.comment) cmd.addOption(new Option("-m, --message <comment>", "a comment, recorded with it"));
    return cmd.action(
      run<{ message?: string }>(async (ctx, [id], o) => {
        const r = await s.call(ctx, { id: id!, comment: o.message ?? "", author: ctx.author });
        if (ctx.json) return ctx.printJson(s.toJSON(r as never));
        printChangeRequest(ctx, s.verb, r.changeRequest!);
      }),
    );
  });
}
