import { InvalidArgumentError } from "commander";

/** A whole number >= 0 (versions, revisions). */
export function parseCount(text: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(n)) throw new InvalidArgumentError(`"${text}" is not a whole number`);
  return n;
}

/** A whole number >= 1. */
export function parsePositive(text: string): number {
  const n = parseCount(text);
  if (n < 1) throw new InvalidArgumentError("must be at least 1");
  return n;
}

/** A finite number (percentages). */
export function parseNumber(text: string, field: string): number {
  const n = Number(text);
  if (text.trim() === "" || !Number.isFinite(n)) throw new InvalidArgumentError(`${field}: "${text}" is not a number`);
  return n;
}

/** Collects a repeatable option into a list. */
export const collect = (value: string, previous: string[] = []): string[] => [...previous, value];
