/**
 * Bucketing: which units a percentage rollout includes and which variant a unit gets.
 *
 * This is the one place the algorithm lives in TypeScript. Every SDK reimplements it
 * (clients/python/ctm/bucketing.py is the reference port) and all of them are pinned by the
 * known-answer vectors in test/vectors/bucketing.json. Changing anything below changes who
 * is served what: it needs a new BUCKETING_ALGORITHM name, never a silent edit.
 *
 * The rule, "murmur3_x86_32/v1":
 *
 *   bytes(salt, unit)  = UTF-8 of (salt + "\0" + unit). Strings are sequences of UTF-16 code
 *                        units here; a lone surrogate encodes as U+FFFD (EF BF BD), as the
 *                        WHATWG TextEncoder does. Valid Unicode needs no special case.
 *   bucket(salt, unit) = floor(murmur3_x86_32(bytes(salt, unit), seed 0) * 100000 / 2^32),
 *                        an integer in [0, 100000). The product is below 2^53, so this is
 *                        exact in doubles; with integers it is (h * 100000) >> 32.
 *   threshold(p)       = roundHalfUp(p * 1000) clamped to [0, 100000], where p * 1000 is one
 *                        IEEE-754 double multiplication and roundHalfUp(x) is the integer
 *                        nearest to x with ties going up (JS Math.round for x >= 0). It is
 *                        NOT Python's round() (ties to even) and NOT a floating-point
 *                        floor(x + 0.5) (which is wrong for 0.49999999999999994): compute
 *                        f = floor(x); f + (x - f >= 0.5 ? 1 : 0), which is exact.
 *                        p <= 0 and NaN give 0; p >= 100 and +Infinity give 100000.
 *   in(unit, p)        = bucket(salt, unit) < threshold(p). Raising p only adds units;
 *                        lowering it removes the highest buckets first.
 *   variantBucket      = bucket(salt + "\0variant", unit), i.e. the bytes of
 *                        salt + "\0variant\0" + unit: independent of canary membership.
 *   pickVariant        = see pickVariant below.
 *
 * Note that "\0" is only a separator by convention: salt "a\0b" with unit "c" hashes the same
 * bytes as salt "a" with unit "b\0c". Salts are keys, which cannot contain NUL.
 */
import murmurhash3js from "murmurhash3js-revisited";

export const BUCKETING_ALGORITHM = "murmur3_x86_32/v1";
export const BUCKETS = 100_000;

/** 2^32: murmur3_x86_32 yields an unsigned 32-bit integer below this. */
const HASH_SPACE = 4_294_967_296;

/**
 * murmurhash3js-revisited checks, on every call and in a loop over every byte, that its input
 * is an array of integers in 0..255, and returns undefined (it does not throw) when it is not.
 * Our only caller is murmur3() below, whose Uint8Array holds bytes by construction, so that
 * walk is pure cost (about 15-30% of a bucket() call). The flag is a property of the
 * library's singleton; nothing else in ctm imports the library: hash through murmur3() here.
 */
(murmurhash3js as unknown as { inputValidation: boolean }).inputValidation = false;
const hash32 = murmurhash3js.x86.hash32;

/** MurmurHash3 x86_32 of the bytes, seed 0, as an unsigned 32-bit integer. */
export function murmur3(bytes: Uint8Array): number {
  return hash32(bytes, 0);
}

const encoder = new TextEncoder();
const MAX_SCRATCH = 64 * 1024;

/** Units whose hashes are remembered per salt; past this the memo starts over. */
export const HASH_MEMO_UNITS = 65_536;
/** Longer unit ids are not remembered, so the memo stays within HASH_MEMO_UNITS × this. */
export const MEMO_UNIT_CHARS = 128;

/**
 * Hashes utf8(salt + suffix + unit) in a reused buffer that keeps the
 * prefix's bytes from the previous call: a rollout evaluates many units under
 * one salt, so only the unit id is encoded per call. Hashes are pure, so each
 * unit's is also remembered (bounded) for as long as the salt stays the same:
 * the same users come back request after request. Bucketing and variant
 * assignment each get their own hasher, so both stay warm.
 */
class PrefixedHasher {
  private buf = new Uint8Array(512);
  private salt: string | undefined;
  private prefixBytes = 0;
  private memo = new Map<string, number>();

  constructor(private readonly suffix: string) {}

  hash(salt: string, unit: string): number {
    if (salt !== this.salt) {
      const prefix = salt + this.suffix;
      if (prefix.length * 3 > MAX_SCRATCH) return murmur3(encoder.encode(prefix + unit));
      if (prefix.length * 3 + 64 > this.buf.length) this.buf = new Uint8Array(Math.min(MAX_SCRATCH, prefix.length * 6 + 64));
      this.prefixBytes = encoder.encodeInto(prefix, this.buf).written;
      this.salt = salt;
      this.memo.clear();
    }
    const known = this.memo.get(unit);
    if (known !== undefined) return known;
    const h = this.compute(unit);
    // A long unit id is a client's choice of memory: hash it, never keep it.
    if (unit.length > MEMO_UNIT_CHARS) return h;
    if (this.memo.size >= HASH_MEMO_UNITS) this.memo.clear();
    this.memo.set(unit, h);
    return h;
  }

  private compute(unit: string): number {
    const start = this.prefixBytes;
    // UTF-8 takes at most 3 bytes per UTF-16 code unit (an astral character: 4 bytes for 2).
    const need = start + unit.length * 3;
    if (need > MAX_SCRATCH) return murmur3(encoder.encode(this.salt! + this.suffix + unit));
    if (need > this.buf.length) {
      const grown = new Uint8Array(Math.min(MAX_SCRATCH, Math.max(need, this.buf.length * 2)));
      grown.set(this.buf.subarray(0, start));
      this.buf = grown;
    }
    const buf = this.buf;
    // Unit ids are mostly ASCII, whose UTF-8 bytes are the char codes: copying them is
    // cheaper than a call into the native encoder. Anything else takes the encoder.
    const n = unit.length;
    let i = 0;
    for (; i < n; i++) {
      const c = unit.charCodeAt(i);
      if (c > 0x7f) break;
      buf[start + i] = c;
    }
    const end = i === n ? start + n : start + encoder.encodeInto(unit, buf.subarray(start)).written;
    return murmur3(buf.subarray(0, end));
  }
}

const forBucket = new PrefixedHasher("\0");
const forVariant = new PrefixedHasher("\0variant\0");

/** The unit's bucket under this salt, an integer in [0, BUCKETS). */
export function bucket(salt: string, unitId: string): number {
  return Math.floor((forBucket.hash(salt, unitId) * BUCKETS) / HASH_SPACE);
}

/** The bucket used for variant assignment: bucket(salt + "\0variant", unitId). */
export function variantBucket(salt: string, unitId: string): number {
  return Math.floor((forVariant.hash(salt, unitId) * BUCKETS) / HASH_SPACE);
}

/**
 * The integer nearest to x, ties going up, for finite x >= 0. This is what Math.round does;
 * ports must not use a banker's round() nor a floating-point floor(x + 0.5).
 */
export function roundHalfUp(x: number): number {
  return Math.round(x);
}

/**
 * How many buckets a percentage covers: roundHalfUp(percent * 1000) clamped to [0, BUCKETS].
 * A percentage may be fractional (12.5 -> 12500, 0.001 -> 1). NaN and negatives give 0
 * (nobody is in), anything at or above 100 gives BUCKETS (everybody is).
 */
export function thresholdFor(percent: number): number {
  if (!(percent > 0)) return 0;
  if (percent >= 100) return BUCKETS;
  return Math.min(BUCKETS, roundHalfUp(percent * 1000));
}

/** Whether a unit with bucket b is inside a rollout at this percentage. */
export function inPercentage(b: number, percent: number): boolean {
  return b < thresholdFor(percent);
}

/** A weight as the variant rule counts it: finite and positive, or else 0. */
function effectiveWeight(w: number): number {
  return Number.isFinite(w) && w > 0 ? w : 0;
}

/**
 * The variant a unit gets. The rule, which every port must follow operation by operation
 * (the vectors' "variants" section pins it):
 *
 *   1. w_i = weight_i if it is finite and > 0, else 0 (negative, NaN and infinite weights
 *      count as 0). Weights need not sum to 100.
 *   2. total = w_0 + w_1 + ... + w_(n-1), summed left to right in IEEE-754 doubles (in Python
 *      an explicit loop over float(w): sum() is compensated from 3.12 on and math.fsum is
 *      exact, both can differ in the last bit).
 *   3. No variants, or total not a finite number > 0: no variant (undefined).
 *   4. vb = variantBucket(salt, unitId).
 *   5. Walk the variants in order with cum_i = w_0 + ... + w_i (same left-to-right doubles);
 *      boundary_i = roundHalfUp(cum_i / total * 100000) (divide first, then multiply, both
 *      in doubles); return the first variant with boundary_i > vb.
 *
 * The last boundary is exactly 100000 (cum equals total bit for bit, so the quotient is 1),
 * so a variant is always found in step 5. A variant of weight 0 shares its predecessor's
 * boundary and is never picked. Variant i gets the buckets [boundary_(i-1), boundary_i).
 */
export function pickVariant<T extends { name: string; weight: number }>(
  salt: string,
  unitId: string,
  variants: readonly T[],
): T | undefined {
  let total = 0;
  for (let i = 0; i < variants.length; i++) total += effectiveWeight(variants[i]!.weight);
  if (!(total > 0) || !Number.isFinite(total)) return undefined;
  const vb = variantBucket(salt, unitId);
  let cum = 0;
  for (let i = 0; i < variants.length; i++) {
    const v = variants[i]!;
    cum += effectiveWeight(v.weight);
    if (roundHalfUp((cum / total) * BUCKETS) > vb) return v;
  }
  return undefined; // unreachable: the last boundary is BUCKETS and vb < BUCKETS
}
