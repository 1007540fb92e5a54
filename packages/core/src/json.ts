import { isDeepStrictEqual } from "node:util";

/** Any JSON value: what a config value is. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

export const jsonEqual = (a: JsonValue | undefined, b: JsonValue | undefined): boolean => isDeepStrictEqual(a, b);

/** Size of the value as compact JSON text, in UTF-8 bytes: the unit of the size limit. */
export const jsonByteLength = (value: JsonValue): number => Buffer.byteLength(JSON.stringify(value), "utf8");

export const isJsonContainer = (v: JsonValue | undefined): v is JsonValue[] | { [key: string]: JsonValue } =>
  typeof v === "object" && v !== null;
