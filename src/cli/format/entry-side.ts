import type { Entry } from "../../gen/ctm/v1/record.js";
import { formatTime, prettyJson } from "./format-values.js";

/** The title of one side of a diff: "v3 (rev 12, ana, 2026-11-21T09:41:03Z)", or "(none)". */
export const entryTitle = (e: Entry | undefined): string => (e ? `v${e.version} (rev ${e.revision}, ${e.author}, ${formatTime(e.time)})` : "(none)");

/** The text of one side of a diff: the pretty value, empty for no entry or a tombstone. */
export const entryText = (e: Entry | undefined): string => (!e || e.deleted ? "" : prettyJson(e.value));
