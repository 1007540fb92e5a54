import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { CtmError } from "../domain/errors.js";
import { decodePageToken, encodePageToken } from "./page-token.js";

function expectBadToken(token: string): void {
  let caught: unknown;
  try {
    decodePageToken(token);
  } catch (e) {
    caught = e;
  }
  expect(caught, `token ${JSON.stringify(token)} should be rejected`).toBeInstanceOf(CtmError);
  expect((caught as CtmError).code).toBe("invalid_argument");
  expect((caught as CtmError).field).toBe("page_token");
}

const raw = (s: string): string => Buffer.from(s, "utf8").toString("base64url");

describe("page tokens", () => {
  it("treats the empty token as the first page", () => {
    expect(decodePageToken("")).toBeUndefined();
  });

  it("round-trips every revision from 1 to MAX_SAFE_INTEGER", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }), (rev) => {
        const token = encodePageToken(rev);
        expect(token).toMatch(/^[A-Za-z0-9_-]+$/);
        expect(decodePageToken(token)).toBe(rev);
      }),
    );
    for (const rev of [1, 2, 10, 1000, Number.MAX_SAFE_INTEGER]) expect(decodePageToken(encodePageToken(rev))).toBe(rev);
  });

  it("is opaque: the revision is not visible as plain digits", () => {
    expect(encodePageToken(123456)).not.toContain("123456");
  });

  it("rejects revision 0 and tokens this server did not issue", () => {
    expectBadToken(encodePageToken(0));
    for (const s of ["h1:", "h1:-1", "h1:1x", "h1: 1", "h2:5", "H1:5", "5", "h1:5\n", "h1:12345678901234567", "h1:9999999999999999"]) {
      expectBadToken(raw(s));
    }
    for (const t of ["x", "not a token", "%%%", "AAAA"]) expectBadToken(t);
  });

  it("rejects arbitrary strings unless they decode to a valid token", () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1 }), (t) => {
        let rev: number | undefined;
        try {
          rev = decodePageToken(t);
        } catch (e) {
          expect((e as CtmError).code).toBe("invalid_argument");
          return;
        }
        // Base64url is lenient, but whatever is accepted is a real revision.
        expect(Number.isSafeInteger(rev)).toBe(true);
        expect(rev).toBeGreaterThanOrEqual(1);
      }),
    );
  });
});
