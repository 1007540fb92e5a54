import type { ErrorObject, ValidateFunction } from "ajv/dist/2020.js";
import { invalidArgument, type CtmError } from "../errors.js";
import type { JsonValue } from "@ctm/core/json";
import { newAjv } from "./new-ajv.js";

// Reserved documents are checked against ctm's own schemas: one Ajv, each schema compiled once,
// on its first use (the modules that declare them load in every `ctm` command; most never check one).
// `verbose`: a refused kind is answered with the kinds its schema lists.
let ajv: ReturnType<typeof newAjv> | undefined;
/** Checkers not compiled yet, for compileDocumentCheckers. */
const uncompiled = new Set<() => unknown>();

/** `/rules/2/kind` under `value` -> `value.rules[2].kind`: the field names the rest of the API uses. */
function fieldOf(base: string, instancePath: string, member?: string): string {
  let out = base;
  for (const raw of [...instancePath.split("/").slice(1), ...(member === undefined ? [] : [member])]) {
    const part = raw.replace(/~1/g, "/").replace(/~0/g, "~");
    out += /^(0|[1-9]\d*)$/.test(part) ? `[${part}]` : `.${part}`;
  }
  return out;
}

function refusal(e: ErrorObject, base: string): CtmError {
  const p = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case "required":
      return invalidArgument(fieldOf(base, e.instancePath, String(p.missingProperty)), "is required");
    case "additionalProperties":
      return invalidArgument(fieldOf(base, e.instancePath, String(p.additionalProperty)), "is not a known member");
    case "discriminator": {
      const allowed = (e.parentSchema?.oneOf as { properties: { [k: string]: { const: string } } }[] | undefined)?.map((b) => JSON.stringify(b.properties[String(p.tag)]!.const));
      return invalidArgument(fieldOf(base, e.instancePath, String(p.tag)), `must be one of ${allowed?.join(", ") ?? "the known kinds"}`);
    }
    default:
      return invalidArgument(fieldOf(base, e.instancePath), e.message ?? "is not valid");
  }
}

/**
 * A checker for one kind of reserved document: throws INVALID_ARGUMENT naming
 * the first bad member under `field` (e.g. `value.rules[2].kind`).
 */
export function documentChecker(schema: object): (doc: JsonValue, field: string) => void {
  let validate: ValidateFunction | undefined;
  const compiled = (): ValidateFunction => (validate ??= (ajv ??= newAjv({ allErrors: false, discriminator: true, verbose: true })).compile(schema));
  uncompiled.add(compiled);
  return (doc, field) => {
    const check = compiled();
    if (!check(doc)) throw refusal(check.errors![0]!, field);
  };
}

/**
 * Compiles every checker declared so far. The daemon does it before it serves, so that no
 * client's first write of a reserved document waits for a compile (see warmUpSchemas).
 */
export function compileDocumentCheckers(): void {
  for (const compile of uncompiled) {
    compile();
    uncompiled.delete(compile);
  }
}
