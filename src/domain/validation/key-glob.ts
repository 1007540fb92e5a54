import { RE2JS } from "re2js";
import { invalidArgument } from "../errors.js";

/**
 * Key globs of validators and health checks: `*` matches within one path
 * segment, `**` as a whole segment matches any number of segments (none too:
 * `a/**` covers `a`, `a/**\/b` covers `a/b`), everything else is literal.
 * picomatch compiled these to backtracking JavaScript regexes (`*a*a*a*a*c`
 * against a 60-character key ran for minutes); here they become one RE2
 * program, linear in the key.
 */
const GLOB_PATTERN = /^[A-Za-z0-9._\-/:*]{1,256}$/;

export function checkGlob(glob: string, field: string): string {
  if (!GLOB_PATTERN.test(glob)) throw invalidArgument(field, "must be 1-256 key characters (letters, digits, . _ - / :) and * (** across segments)");
  return glob;
}

function globSource(glob: string): string {
  // `**/**` is `**`: collapsed so the slashes around each stay right.
  const parts = glob.split("/").filter((p, i, all) => !(p === "**" && all[i - 1] === "**"));
  let out = "";
  parts.forEach((part, i) => {
    const last = i === parts.length - 1;
    if (part === "**") {
      // Zero or more whole segments, with the slashes around them.
      out += parts.length === 1 ? ".*" : i === 0 ? "(?:.*/)?" : last ? "(?:/.*)?" : "/(?:.*/)?";
      return;
    }
    if (i > 0 && parts[i - 1] !== "**") out += "/";
    out += part
      .split(/\*+/)
      .map((lit) => RE2JS.quote(lit))
      .join("[^/]*");
  });
  return out;
}

/** One matcher for a list of globs (any of them). Globs must have passed checkGlob. */
export function globMatcher(globs: readonly string[]): (key: string) => boolean {
  const re = RE2JS.compile(`^(?:${globs.map(globSource).join("|")})$`);
  return (key) => re.test(key);
}
