import type { KeyChange } from "../../gen/ctm/v1/change_request_service.js";
import type { Colors } from "./colors.js";
import { entryText, entryTitle } from "./entry-side.js";
import { prettyJson } from "./format-values.js";
import { sideBySide } from "./side-by-side.js";

/** "set payments/limit", "new payments/cap", "delete payments/legacy": what a request does to a key. */
export function keyChangeHeading(k: KeyChange, c: Colors): string {
  const verb = k.deleted ? c.red("delete") : k.live ? c.yellow("set") : c.green("new");
  return `${verb} ${c.bold(k.key)}`;
}

/**
 * What a request would do to one key, as `ctm diff` shows two versions: the live value beside
 * the one proposed (`proposed`, from the request's operations), removed lines red, added green.
 */
export function keyChangeDiff(k: KeyChange, proposed: unknown, c: Colors, width?: number): string {
  const head = keyChangeHeading(k, c);
  if (k.deleted && !k.live) return `${head}\n${c.dim("no change: the key does not exist")}`;
  if (!k.deleted && k.live && k.operations.length === 0) return `${head}\n${c.dim("no change: the live value is the one proposed")}`;
  const right = k.deleted ? "" : prettyJson(proposed);
  return `${head}\n${sideBySide(entryText(k.live), right, [entryTitle(k.live), k.deleted ? "(deleted)" : "proposed"], c, width)}`;
}
