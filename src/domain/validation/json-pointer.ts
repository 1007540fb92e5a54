import type { JsonValue } from "@ctm/core/json";

const escape = (s: string): string => s.replace(/~/g, "~0").replace(/\//g, "~1");
const unescape = (s: string): string => s.replace(/~1/g, "/").replace(/~0/g, "~");

/** RFC 6901 lookup; undefined when the path does not exist. */
export function atPointer(value: JsonValue, pointer: string): JsonValue | undefined {
  if (pointer === "") return value;
  let cur: JsonValue | undefined = value;
  for (const raw of pointer.slice(1).split("/")) {
    const part = unescape(raw);
    if (Array.isArray(cur)) cur = /^(0|[1-9]\d*)$/.test(part) ? cur[Number(part)] : undefined;
    else if (cur !== null && typeof cur === "object") cur = Object.hasOwn(cur, part) ? cur[part] : undefined;
    else return undefined;
  }
  return cur;
}

export const pointerOf = (parts: string[]): string => parts.map((p) => `/${escape(p)}`).join("");
