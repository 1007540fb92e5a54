import * as grpc from "@grpc/grpc-js";
import { describe, expect, it } from "vitest";
import { CtmError } from "../../domain/errors.js";
import { headerText, toStatus } from "./status-table.js";

describe("toStatus", () => {
  it("maps a domain error's field and details to trailers, whatever characters they hold", () => {
    const e = new CtmError("invalid_argument", "bad", 'context.attributes["\u{e3c5c}\n"]', { current: "naïve 100%" });
    const { error } = toStatus(e, "req-1");
    expect(error.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(error.metadata!.get("ctm-field")).toEqual(['context.attributes["%F3%A3%B1%9C%0A"]']);
    expect(error.metadata!.get("ctm-current")).toEqual(["na%C3%AFve 100%25"]);
    expect(error.metadata!.get("ctm-request-id")).toEqual(["req-1"]);
  });

  it("leaves printable ASCII as it is, and decodes back to the text", () => {
    expect(headerText("value/a b:c_d-e.f~")).toBe("value/a b:c_d-e.f~");
    expect(decodeURIComponent(headerText("é \u{1f600} 50%"))).toBe("é \u{1f600} 50%");
  });
});
