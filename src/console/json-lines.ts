import type { Json } from "./api-types.js";

/** One line of pretty-printed JSON and the JSON Pointer (RFC 6901) of the value it belongs to. */
export interface JsonLine {
  text: string;
  pointer: string;
}

const escape = (segment: string): string => segment.replace(/~/g, "~0").replace(/\//g, "~1");

/**
 * Prints a value as JSON.stringify(v, null, 2) does, line by line, each line tagged with its
 * value's pointer, so a diff can mark the lines a JSON Patch operation touches.
 */
export function jsonLines(value: Json): JsonLine[] {
  const out: JsonLine[] = [];
  const walk = (v: Json, pointer: string, indent: string, label: string, comma: string): void => {
    if (v === null || typeof v !== "object") {
      out.push({ text: `${indent}${label}${JSON.stringify(v)}${comma}`, pointer });
      return;
    }
    const items: [string, Json][] = Array.isArray(v) ? v.map((x, i) => [String(i), x]) : Object.entries(v);
    const [open, close] = Array.isArray(v) ? ["[", "]"] : ["{", "}"];
    if (items.length === 0) {
      out.push({ text: `${indent}${label}${open}${close}${comma}`, pointer });
      return;
    }
    out.push({ text: `${indent}${label}${open}`, pointer });
    items.forEach(([k, x], i) => walk(x, `${pointer}/${escape(k)}`, `${indent}  `, Array.isArray(v) ? "" : `${JSON.stringify(k)}: `, i < items.length - 1 ? "," : ""));
    out.push({ text: `${indent}${close}${comma}`, pointer });
  };
  walk(value, "", "", "", "");
  return out;
}

/** Whether `pointer` is `target` or lies inside it. */
export const within = (pointer: string, target: string): boolean => pointer === target || pointer.startsWith(`${target}/`);
