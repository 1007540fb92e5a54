import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import type { JsonValue } from "@ctm/core/json";
import { documentChecker } from "../validation/document-checker.js";
import { NAME_PATTERN } from "../validation/validator.js";

/**
 * A bearer token is `ctm_<id>_<secret>`: the id (16 hex digits) finds its document under
 * `_ctm/auth/tokens/<id>`, which holds only a SHA-256 verifier of the secret (256 random
 * bits, base64url). The secret is shown once, at creation, and never stored: reading the
 * log does not yield a usable token, and a 256-bit secret needs no slow hash.
 */
export interface TokenDocument {
  name: string;
  roles: string[];
  /** Hex SHA-256 of the secret part. */
  verifier: string;
  /** Unix ms; absent: never expires. */
  expiresAt?: number;
}

export interface MintedToken {
  id: string;
  /** The whole bearer token, for the client; it exists only in this answer. */
  token: string;
  verifier: string;
}

const TOKEN_SHAPE = /^ctm_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;
export const TOKEN_ID = /^[0-9a-f]{16}$/;

export function mintToken(): MintedToken {
  const id = randomBytes(8).toString("hex");
  const secret = randomBytes(32).toString("base64url");
  return { id, token: `ctm_${id}_${secret}`, verifier: verifierOf(secret) };
}

export const verifierOf = (secret: string): string => createHash("sha256").update(secret).digest("hex");

/** The id and secret of a token's text, or undefined when it is not shaped like one. */
export function parseToken(text: string): { id: string; secret: string } | undefined {
  const m = TOKEN_SHAPE.exec(text);
  return m ? { id: m[1]!, secret: m[2]! } : undefined;
}

/** Constant time in the secret: the comparison does not tell how much of a guess was right. */
export function secretMatches(secret: string, verifier: string): boolean {
  const a = Buffer.from(verifierOf(secret), "hex");
  const b = Buffer.from(verifier, "hex");
  return a.length === b.length && timingSafeEqual(a, b);
}

const checkTokenDocument = documentChecker({
  type: "object",
  properties: {
    name: { type: "string", pattern: NAME_PATTERN.source },
    roles: { type: "array", minItems: 1, maxItems: 100, items: { type: "string", minLength: 1, maxLength: 128 } },
    verifier: { type: "string", pattern: "^[0-9a-f]{64}$" },
    expiresAt: { type: "integer", minimum: 0, maximum: 253_402_300_799_999 },
  },
  required: ["name", "roles", "verifier"],
  additionalProperties: false,
});

export function tokenFromJson(doc: JsonValue | undefined, field = "value"): TokenDocument {
  checkTokenDocument(doc ?? null, field);
  const d = doc as unknown as TokenDocument;
  return { name: d.name, roles: [...d.roles], verifier: d.verifier, ...(d.expiresAt !== undefined ? { expiresAt: d.expiresAt } : {}) };
}

export const tokenToJson = (t: TokenDocument): JsonValue => ({ ...t, roles: [...t.roles] }) as unknown as JsonValue;
