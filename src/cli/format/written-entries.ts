import type { Entry } from "../../gen/ctm/v1/record.js";
import type { Colors } from "./colors.js";
import { compactJson, kindName } from "./format-values.js";
import { renderTable } from "./render-table.js";

/** The records a batch wrote, one row each: key, kind, version, revision, value. */
export function writtenEntries(entries: readonly Entry[], c: Colors): string {
  const rows = entries.map((e) => [e.key, kindName(e.kind), e.version, e.revision, e.deleted ? "(deleted)" : compactJson(e.value, 50)]);
  return renderTable(["key", "kind", "version", "revision", "value"], rows, c);
}
