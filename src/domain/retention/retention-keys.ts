// The reserved keys of retention, apart from the checks of their documents: the CLI names them
// without loading the schema checker.

/** `_ctm/retention/<name>`: how long superseded versions of some keys are kept. */
export const RETENTION_PREFIX = "_ctm/retention/";
/** `_ctm/holds/<name>`: keys nothing of which may leave (a legal hold, an investigation). */
export const HOLD_PREFIX = "_ctm/holds/";
/** The reserved key whose versions report every compaction. */
export const COMPACTIONS_KEY = "_ctm/compactions";
