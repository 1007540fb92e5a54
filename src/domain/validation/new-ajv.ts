import { createRequire } from "node:module";
import type { Ajv2020 } from "ajv/dist/2020.js";
import type { Options } from "ajv";
import type { RegExpEngine } from "ajv/dist/types/index.js";
import { compileLinear } from "@ctm/core/validation/linear-regex";
import { uniqueItemsKeyword } from "./unique-items.js";

/**
 * Every `pattern` and `patternProperties` key runs on RE2 (linear time). Ajv
 * compiles static patterns when it compiles the schema, so a pattern RE2 cannot
 * take (backreferences, lookaround) makes the schema itself fail to compile.
 * Ajv's "u" flag is not needed: RE2 matches code points already.
 */
const re2Engine: RegExpEngine = Object.assign(
  (pattern: string) => {
    try {
      return compileLinear(pattern);
    } catch (e) {
      throw new Error(`pattern ${JSON.stringify(pattern)} is not a linear-time (RE2) regex: ${(e as Error).message}`);
    }
  },
  // Only read when generating standalone code, which ctm never does.
  { code: "re2" },
);

let AjvClass: typeof Ajv2020 | undefined;

/**
 * An Ajv (draft 2020-12) that cannot be made to block the event loop by a
 * schema or a value beyond what schema-cost.ts charges for:
 * - patterns on RE2 (above), `uniqueItems` in linear time (unique-items.ts);
 * - `optimize: false`: Ajv's code optimizer made compiling a 2,000-property
 *   schema take seconds; unoptimized, compiling grows linearly;
 * - `inlineRefs: false`: a `$ref` is called, never copied, so a chain of
 *   references cannot multiply the generated code;
 * - `validateFormats: false`: `format` is an annotation (no format regexes run,
 *   and no warning is printed for unknown formats).
 * `addUsedSchema: false`: a schema's `$id` is not registered on the instance,
 * so the same definition can be compiled again (a new version of a validator,
 * a reload from the log) without "schema with key or id already exists".
 */
export function newAjv(opts: Pick<Options, "allErrors" | "discriminator" | "verbose"> = { allErrors: true }): Ajv2020 {
  // Ajv is required on first use, not imported: its ~90 modules would load in every `ctm` command.
  AjvClass ??= (createRequire(import.meta.url)("ajv/dist/2020.js") as typeof import("ajv/dist/2020.js")).Ajv2020;
  const ajv = new AjvClass({
    ...opts,
    strict: false,
    addUsedSchema: false,
    validateFormats: false,
    inlineRefs: false,
    code: { optimize: false, regExp: re2Engine },
  });
  ajv.removeKeyword("uniqueItems");
  ajv.addKeyword(uniqueItemsKeyword);
  return ajv;
}
