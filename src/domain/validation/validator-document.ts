import { documentChecker } from "./document-checker.js";

const rule = (kind: string, properties: object, required: string[]) => ({
  type: "object",
  properties: { path: { type: "string", maxLength: 1024 }, kind: { const: kind }, ...properties },
  required: ["kind", ...required],
  additionalProperties: false,
});

/**
 * A validator as stored under `_ctm/validators/<name>`: what SetValidator
 * writes, and what a raw Set or Apply of that key must look like. Unknown
 * members and kinds are refused: they used to be stored as they came and then
 * broke every later write to the keys they covered.
 */
export const VALIDATOR_DOCUMENT_SCHEMA = {
  type: "object",
  properties: {
    keys: { type: "array", minItems: 1, maxItems: 100, items: { type: "string", minLength: 1, maxLength: 256 } },
    rules: {
      type: "array",
      minItems: 1,
      maxItems: 100,
      items: {
        type: "object",
        discriminator: { propertyName: "kind" },
        required: ["kind"],
        oneOf: [
          rule("type", { type: { enum: ["string", "number", "integer", "boolean", "object", "array", "null"] } }, ["type"]),
          rule("range", { min: { type: "number" }, max: { type: "number" } }, []),
          rule("one_of", { values: { type: "array", minItems: 1 } }, ["values"]),
          rule("regex", { pattern: { type: "string", maxLength: 512 } }, ["pattern"]),
          rule("json_schema", { schema: { type: "object" } }, ["schema"]),
        ],
      },
    },
    // No length of its own: the value size limit bounds it, and a long text breaks nothing.
    description: { type: "string" },
  },
  required: ["keys", "rules"],
  additionalProperties: false,
} as const;

export const checkValidatorDocument = documentChecker(VALIDATOR_DOCUMENT_SCHEMA);
