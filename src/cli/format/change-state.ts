import { ChangeRequestState, changeRequestStateFromJSON, changeRequestStateToJSON } from "../../gen/ctm/v1/change_request_service.js";
import type { Colors } from "./colors.js";

/** The states as `ctm cr list --state` takes them and every cr command prints them. */
export const STATE_NAMES = ["draft", "in-review", "approved", "scheduled", "applied", "failed", "rejected", "cancelled"] as const;

/** CHANGE_REQUEST_STATE_IN_REVIEW -> in-review. */
export const stateName = (s: ChangeRequestState): string => changeRequestStateToJSON(s).replace(/^CHANGE_REQUEST_STATE_/, "").toLowerCase().replace(/_/g, "-");

/** in-review -> CHANGE_REQUEST_STATE_IN_REVIEW (the names are checked by the option's choices). */
export const stateFromName = (name: string): ChangeRequestState => changeRequestStateFromJSON(`CHANGE_REQUEST_STATE_${name.toUpperCase().replace(/-/g, "_")}`);

const S = ChangeRequestState;

/** The state colored by what it asks of people: waiting yellow, ready or done green, ended badly red. */
export function stateText(s: ChangeRequestState, c: Colors): string {
  const name = stateName(s);
  switch (s) {
    case S.CHANGE_REQUEST_STATE_IN_REVIEW:
      return c.yellow(name);
    case S.CHANGE_REQUEST_STATE_APPROVED:
    case S.CHANGE_REQUEST_STATE_APPLIED:
      return c.green(name);
    case S.CHANGE_REQUEST_STATE_SCHEDULED:
      return c.cyan(name);
    case S.CHANGE_REQUEST_STATE_FAILED:
    case S.CHANGE_REQUEST_STATE_REJECTED:
      return c.red(name);
    default:
      return c.dim(name);
  }
}
