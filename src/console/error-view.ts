import { ApiError } from "./api-client.js";
import { h } from "./dom.js";

const TITLES: Record<string, string> = {
  permission_denied: "Permission denied",
  unauthenticated: "Not signed in",
  not_found: "Not found",
  failed_precondition: "Not possible now",
  invalid_argument: "Invalid input",
  out_of_range: "Out of range",
  aborted: "Changed meanwhile",
  unavailable: "Unavailable",
  resource_exhausted: "Too many requests",
};

/** A refusal in words: its kind, then the server's own message. */
export function describeError(e: unknown): string {
  if (e instanceof ApiError) return `${TITLES[e.code] ?? e.code.replace(/_/g, " ")}: ${e.message}`;
  return `Error: ${e instanceof Error ? e.message : String(e)}`;
}

/** A refusal shown in place of what could not be read; screen readers announce it. */
export function errorView(e: unknown): HTMLElement {
  const code = e instanceof ApiError ? e.code : "unknown";
  return h("p", { class: `error ${code}`, role: "alert", "data-code": code }, describeError(e));
}
