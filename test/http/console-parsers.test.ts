import { describe, expect, it } from "vitest";
import { jsonLines, within } from "../../src/console/json-lines.js";
import { SseParser } from "../../src/console/sse-parser.js";

describe("the console's event-stream parser", () => {
  it("reads events however the stream is cut into chunks, with any line ending", () => {
    const stream = 'retry: 2000\r\n\r\nevent: created\r\ndata: {"a":1}\r\n\r\n: a comment\nevent: events\nid: 7\ndata: line one\ndata: line two\n\nevent: progress\rid: 9\rdata: {}\r\r\n';
    const whole = new SseParser().push(stream);
    expect(whole).toEqual([
      { event: "created", data: '{"a":1}', id: undefined },
      { event: "events", data: "line one\nline two", id: "7" },
      { event: "progress", data: "{}", id: "9" },
    ]);
    // Byte by byte: the same events, and a "\r\n" split across chunks is one line ending.
    const p = new SseParser();
    const bytewise = [...stream].flatMap((c) => p.push(c));
    expect(bytewise).toEqual(whole);
    expect(p.retryMs).toBe(2000);
  });

  it("keeps the last id for later events, ignores unknown fields, and sends nothing for an event without data", () => {
    const p = new SseParser();
    expect(p.push("id: 3\nevent: x\n\nfoo: bar\ndata\n\nretry: soon\ndata: y\n\n")).toEqual([
      { event: "message", data: "", id: "3" },
      { event: "message", data: "y", id: "3" },
    ]);
    expect(p.retryMs).toBeUndefined();
  });
});

describe("the console's pretty printer for diffs", () => {
  it("prints as JSON.stringify(v, null, 2) does, each line with its value's JSON Pointer", () => {
    const value = { a: 1, "x/y": { "t~": [true, null] }, e: [], o: {} };
    const lines = jsonLines(value);
    expect(lines.map((l) => l.text).join("\n")).toBe(JSON.stringify(value, null, 2));
    expect(lines.map((l) => l.pointer)).toEqual(["", "/a", "/x~1y", "/x~1y/t~0", "/x~1y/t~0/0", "/x~1y/t~0/1", "/x~1y/t~0", "/x~1y", "/e", "/o", ""]);
    expect(jsonLines("text")).toEqual([{ text: '"text"', pointer: "" }]);
  });

  it("places a pointer inside another only along whole segments", () => {
    expect([within("/a/b", "/a"), within("/a", "/a"), within("/ab", "/a"), within("/a", ""), within("", "/a")]).toEqual([true, true, false, true, false]);
  });
});
