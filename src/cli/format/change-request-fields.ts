import type { ChangeRequest, ChangeReview } from "../../gen/ctm/v1/change_request_service.js";
import { stateText } from "./change-state.js";
import type { Colors } from "./colors.js";
import { formatTime } from "./format-values.js";
import { relativeTime } from "./relative-time.js";

type Fields = [string, string | undefined][];

/** "1/2": the distinct approvals it has, of those its policies ask. */
export const approvalCount = (cr: ChangeRequest): string => `${cr.approvals.length}/${cr.approvalsRequired}`;

const review = (r: ChangeReview): string => [r.principal, formatTime(r.time), r.comment].filter(Boolean).join("  ");

/** "1 of 2 (policy payments)", then one line per approval: who, when, their comment. */
function approvals(cr: ChangeRequest): string {
  const policies = cr.policies.length ? ` (polic${cr.policies.length === 1 ? "y" : "ies"} ${cr.policies.join(", ")})` : "";
  return [`${cr.approvals.length} of ${cr.approvalsRequired}${policies}`, ...cr.approvals.map(review)].join("\n");
}

/** What happened to it last, where that needs saying: the conflict, the rejection, the apply, the schedule. */
function outcome(cr: ChangeRequest, c: Colors): Fields {
  return [
    ["conflict", cr.conflict ? c.red(cr.conflict) : undefined],
    ["rejected", cr.rejection ? review(cr.rejection) : undefined],
    ["applied", cr.appliedRevision ? `revision ${cr.appliedRevision}` : undefined],
    ["scheduled", cr.scheduledAt ? `${formatTime(cr.scheduledAt)} (${relativeTime(cr.scheduledAt)})` : undefined],
  ];
}

/** The few fields a write answers with: which request, where it stands now. */
export const summaryFields = (cr: ChangeRequest, c: Colors): Fields => [
  ["id", cr.id],
  ["state", stateText(cr.state, c)],
  ["approvals", approvals(cr)],
  ["base revision", String(cr.baseRevision)],
  ...outcome(cr, c),
];

/** The whole request, as `ctm cr show` prints it above the diffs. */
export const changeRequestFields = (cr: ChangeRequest, c: Colors): Fields => [
  ["id", cr.id],
  ["title", c.bold(cr.title)],
  ["description", cr.description || undefined],
  ["state", stateText(cr.state, c)],
  ["author", cr.author],
  ["base revision", String(cr.baseRevision)],
  ["approvals", approvals(cr)],
  ...outcome(cr, c),
  ["updated", `${formatTime(cr.updated)} (${relativeTime(cr.updated)}, version ${cr.version})`],
];
