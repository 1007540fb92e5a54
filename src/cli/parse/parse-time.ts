import { InvalidArgumentError } from "commander";
import { parseDurationMs } from "./parse-duration.js";

// RFC 3339 with the seconds optional (2026-01-15T03:47Z), and a zone required so that
// a time means the same on every machine.
const TIME = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2})(?::(\d{2})(\.\d+)?)?([Zz]|[+-]\d{2}:\d{2})$/;

/** An RFC 3339 time (seconds optional, zone required), "now", "<duration> ago" ("15m ago") or "in <duration>" ("in 2h"). */
export function parseTime(text: string, now = Date.now()): Date {
  const t = text.trim();
  if (t === "now") return new Date(now);
  const ago = /^(.+?)\s*ago$/.exec(t);
  if (ago) return new Date(now - parseDurationMs(ago[1]!.replace(/\s+/g, "")));
  // "in 2h": for times to come (--activate-at), so an example stays valid whenever it is run.
  const ahead = /^in\s+(.+)$/.exec(t);
  if (ahead) return new Date(now + parseDurationMs(ahead[1]!.replace(/\s+/g, "")));
  const m = TIME.exec(t);
  if (m) {
    const [y, mo, d, h, mi, s = "0"] = m.slice(1, 7);
    const ms = Date.parse(`${y}-${mo}-${d}T${h}:${mi}:${s.padStart(2, "0")}${m[7] ?? ""}${m[8]!.toUpperCase()}`);
    const back = new Date(Date.UTC(Number(y), Number(mo) - 1, Number(d)));
    const validDate = back.getUTCFullYear() === Number(y) && back.getUTCMonth() === Number(mo) - 1 && back.getUTCDate() === Number(d);
    if (!Number.isNaN(ms) && validDate && Number(h) < 24 && Number(mi) < 60 && Number(s) < 60) return new Date(ms);
  }
  throw new InvalidArgumentError(`"${text}" is not a time like 2026-01-15T03:47Z, 2026-01-15T03:47:00+02:00, now, "15m ago" or "in 2h"`);
}
