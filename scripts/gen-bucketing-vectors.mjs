#!/usr/bin/env node
// Writes test/vectors/bucketing.json, the known-answer vectors that pin the bucketing
// algorithm ("murmur3_x86_32/v1", packages/core/src/bucketing.ts) in every language.
//
//   npx tsx scripts/gen-bucketing-vectors.mjs            # rewrite the file
//   npx tsx scripts/gen-bucketing-vectors.mjs --check    # fail if the file would change
//
// The output is deterministic: fixed inputs, a seeded PRNG for synthetic ids, and ids
// found by scanning fixed sequences for the buckets on either side of each threshold.
// The expected values come from the TypeScript implementation; they are cross-checked by an
// independent pure-Python murmur3 (clients/python/tests/test_bucketing_vectors.py) and must
// never be regenerated to make a failing port pass: a changed value is a changed algorithm.
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  BUCKETING_ALGORITHM,
  BUCKETS,
  bucket,
  inPercentage,
  pickVariant,
  thresholdFor,
  variantBucket,
} from "../packages/core/src/bucketing.ts";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const out = join(root, "test/vectors/bucketing.json");
// The Go package's tests read their own copy, so that they pass wherever the package is copied.
const goCopy = join(root, "clients/go/ctm/testdata/bucketing.json");

const PERCENTAGES = ["0", "0.001", "1", "10", "12.5", "50", "99.999", "100"];

/** mulberry32: a tiny seeded PRNG, so synthetic ids are the same on every run. */
function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const rand = prng(0xc7a11ed);
const hex = (n) => Array.from({ length: n }, () => Math.floor(rand() * 16).toString(16)).join("");
const uuid = () => `${hex(8)}-${hex(4)}-4${hex(3)}-${"89ab"[Math.floor(rand() * 4)]}${hex(3)}-${hex(12)}`;

const SALTS = [
  "checkout.new-flow",
  "",
  "a",
  "payments/ledger.v2",
  "feature.über-ümlaut",
  "ключ.конфигурации",
  "配置.新功能",
  "🚀.launch",
  "מפתח",
  "مفتاح.التكوين",
  "cafe\u0301", // combining acute accent (NFD)
  "café", // precomposed (NFC): a different salt, different buckets
  "k".repeat(300),
  "salt\u0000with-nul",
];

const UNITS = [
  "",
  "0",
  "1",
  "42",
  "-1",
  "1e3",
  "0x10",
  "user-1",
  "user-2",
  "user-12345",
  "alice@example.com",
  "Alice@Example.com",
  " ",
  "\t",
  "user 1 ",
  "line\nbreak",
  "\u0000",
  "\u0000\u0000",
  "a\u0000b",
  "\u0000user",
  "user\u0000",
  "José",
  "Zoë",
  "Ångström",
  "naïve-café",
  "e\u0301", // NFD é
  "é", // NFC é
  "a\u0308\u0301\u0323", // stacked combining marks
  "Straße",
  "ß",
  "İstanbul",
  "Ελληνικά",
  "Владимир",
  "山田太郎",
  "用户-42",
  "김민준",
  "すずき",
  "ｶﾀｶﾅ", // half-width katakana
  "שלום",
  "محمد",
  "\u200fRTL-mark",
  "abc\u202eevil", // right-to-left override
  "\ufeffBOM",
  "\u00a0nbsp",
  "😀",
  "👩‍💻", // ZWJ sequence
  "🇯🇵",
  "👍🏽",
  "𝔘𝔫𝔦𝔠𝔬𝔡𝔢",
  "𠜎𠜱𠝹", // CJK extension B (astral)
  "mixed-José-山田-😀-שלום",
  "\uffff",
  "\u{10ffff}",
  "\ud800", // lone high surrogate: encodes as U+FFFD
  "a\udc00b", // lone low surrogate
  "\ud83d\ude00\ud83d", // a pair, then a lone high surrogate
  "x".repeat(1000),
  "😀".repeat(500),
];
// 22,000 UTF-16 units may need 66,000 bytes: more than the reused 64 KiB scratch buffer, so
// this exercises the fallback path. Used with the main salt only, to keep the file small.
const HUGE = "é".repeat(22000);
// Every tail length of murmur3's 4-byte blocks, in 1-, 2-, 3- and 4-byte characters.
for (let n = 1; n <= 9; n++) UNITS.push("x".repeat(n), "é".repeat(n), "中".repeat(n));
for (let n = 1; n <= 3; n++) UNITS.push("🙂".repeat(n));
for (let i = 0; i < 20; i++) UNITS.push(uuid());

const cases = [];
const seen = new Set();
function addCase(salt, unitId) {
  const id = JSON.stringify([salt, unitId]);
  if (seen.has(id)) return;
  seen.add(id);
  const b = bucket(salt, unitId);
  const inMap = {};
  for (const p of PERCENTAGES) inMap[p] = inPercentage(b, Number(p));
  cases.push({ salt, unit_id: unitId, bucket: b, variant_bucket: variantBucket(salt, unitId), in: inMap });
}

// The main salt against every unit; each other salt against a rotating slice of them.
for (const u of UNITS) addCase(SALTS[0], u);
addCase(SALTS[0], HUGE);
SALTS.slice(1).forEach((salt, si) => {
  for (let j = 0; j < 12; j++) addCase(salt, UNITS[(si * 7 + j * 5) % UNITS.length]);
});

/**
 * Ids of the form `${prefix}${i}` whose bucket (per `bucketOf`) is each of `targets`, the
 * first i found for each, scanning i = 0, 1, 2, ... A bucket has a 1e-5 chance per id, so a
 * few million ids find them all.
 */
function hunt(prefix, targets, bucketOf, limit = 20_000_000) {
  const want = new Map(targets.map((t) => [t, undefined]));
  let missing = want.size;
  for (let i = 0; i < limit && missing > 0; i++) {
    const id = `${prefix}${i}`;
    const b = bucketOf(id);
    if (want.has(b) && want.get(b) === undefined) {
      want.set(b, id);
      missing--;
    }
  }
  if (missing > 0) throw new Error(`hunt ${prefix}: not all of ${targets} found`);
  return [...want.values()];
}

// Units on either side of every percentage threshold used above.
const thresholdBuckets = [];
for (const p of PERCENTAGES) {
  const t = thresholdFor(Number(p));
  if (t > 0) thresholdBuckets.push(t - 1);
  if (t < BUCKETS) thresholdBuckets.push(t);
}
for (const u of hunt("edge-", [...new Set(thresholdBuckets)], (id) => bucket(SALTS[0], id))) addCase(SALTS[0], u);

// Thresholds, pinning the rounding (ties go up; 0.0025 * 1000 === 2.5 -> 3, not 2).
const THRESHOLD_PERCENTS = [
  0, 0.0001, 0.0004, 0.0005, 0.0015, 0.0025, 0.0035, 0.001, 0.01, 0.1, 0.5, 1, 2.5, 10, 12.5,
  12.3455, 33.3333, 33.3335, 50, 66.6665, 99.9994, 99.9995, 99.999, 100, 100.5, 1000, -1, -0.0005,
];
const thresholds = THRESHOLD_PERCENTS.map((p) => ({ percent: p, threshold: thresholdFor(p) }));

// Variant sets: each with ~40 units, including the units on either side of every boundary.
const VARIANT_SETS = [
  { salt: "checkout.new-flow", variants: [["a", 50], ["b", 30], ["c", 20]] },
  { salt: "thirds", variants: [["a", 1], ["b", 1], ["c", 1]] },
  { salt: "ranking.model", variants: [["control", 0], ["x", 12.5], ["y", 0.001], ["z", 87.499]] },
  { salt: "ボタンの色", variants: [["红", 2], ["🟢", 0], ["blue", 5]] },
  { salt: "single", variants: [["only", 7]] },
  { salt: "tiny-weights", variants: [["p", 0.1], ["q", 0.2], ["r", 0.3]] },
  { salt: "none", variants: [] },
  { salt: "all-zero", variants: [["a", 0], ["b", 0]] },
];

function boundaries(weights) {
  const total = weights.reduce((s, w) => s + w, 0);
  let cum = 0;
  return weights.map((w) => Math.round(((cum += w) / total) * BUCKETS));
}

const variants = VARIANT_SETS.map(({ salt, variants: vs }) => {
  const objs = vs.map(([name, weight]) => ({ name, weight }));
  const units = [];
  for (let i = 0; i < 30; i++) units.push(UNITS[(i * 11 + salt.length) % UNITS.length]);
  if (objs.length > 0 && objs.some((v) => v.weight > 0)) {
    const edges = new Set();
    for (const b of boundaries(objs.map((v) => v.weight))) {
      if (b > 0) edges.add(b - 1);
      if (b < BUCKETS) edges.add(b);
    }
    units.push(...hunt("vedge-", [...edges], (id) => variantBucket(salt, id)));
  }
  while (units.length < 40) units.push(uuid());
  const picks = [...new Set(units)].map((unitId) => ({
    unit_id: unitId,
    variant_bucket: variantBucket(salt, unitId),
    variant: pickVariant(salt, unitId, objs)?.name ?? null,
  }));
  return { salt, variants: objs, picks };
});

const doc = {
  algorithm: BUCKETING_ALGORITHM,
  description: [
    "Known-answer vectors for ctm bucketing; every implementation must reproduce all of them.",
    'bucket = floor(murmur3_x86_32(utf8(salt + "\\u0000" + unit_id), seed 0) * 100000 / 2^32), in [0, 100000);',
    "utf8 encodes a lone surrogate as U+FFFD (EF BF BD), as JavaScript's TextEncoder does.",
    "threshold(p) = round_half_up(p * 1000) clamped to [0, 100000] (p * 1000 is one IEEE-754 double",
    "multiplication; ties go up, unlike Python's round(); p <= 0 gives 0, p >= 100 gives 100000).",
    "A unit is in percentage p iff bucket < threshold(p): cases[].in maps p to that answer.",
    'variant_bucket = bucket(salt + "\\u0000variant", unit_id).',
    "pick_variant: w_i = weight_i if finite and > 0 else 0; total = left-to-right double sum of w_i;",
    "no variant (null) if there are no variants or total is not > 0; else with cum_i the running",
    "left-to-right sum, boundary_i = round_half_up(cum_i / total * 100000), and the first variant",
    "with boundary_i > variant_bucket wins.",
  ].join(" "),
  buckets: BUCKETS,
  percentages: PERCENTAGES,
  cases,
  thresholds,
  variants,
};

// One case, threshold or pick per line: reviewable diffs, and a file that stays small.
const line = (v) => JSON.stringify(v);
// Object key order puts integer-like keys ("0", "1", ...) first; keep the percentages' order.
const caseLine = (c) =>
  `{"salt":${line(c.salt)},"unit_id":${line(c.unit_id)},"bucket":${c.bucket},"variant_bucket":${c.variant_bucket},` +
  `"in":{${PERCENTAGES.map((p) => `${line(p)}:${c.in[p]}`).join(",")}}}`;
const text =
  "{\n" +
  `  "algorithm": ${line(doc.algorithm)},\n` +
  `  "description": ${line(doc.description)},\n` +
  `  "buckets": ${doc.buckets},\n` +
  `  "percentages": ${line(doc.percentages)},\n` +
  `  "cases": [\n${doc.cases.map((c) => `    ${caseLine(c)}`).join(",\n")}\n  ],\n` +
  `  "thresholds": [\n${doc.thresholds.map((t) => `    ${line(t)}`).join(",\n")}\n  ],\n` +
  `  "variants": [\n${doc.variants
    .map(
      (s) =>
        `    {\n      "salt": ${line(s.salt)},\n      "variants": ${line(s.variants)},\n      "picks": [\n` +
        s.picks.map((p) => `        ${line(p)}`).join(",\n") +
        "\n      ]\n    }",
    )
    .join(",\n")}\n  ]\n` +
  "}\n";

// Well-formed and equal to doc, or fail here rather than in a test.
if (JSON.stringify(JSON.parse(text)) !== JSON.stringify(doc)) throw new Error("formatting changed the vectors");

if (process.argv.includes("--check")) {
  for (const file of [out, goCopy]) {
    let current = "";
    try {
      current = readFileSync(file, "utf8");
    } catch {}
    if (current !== text) {
      console.error(`${file} differs from what the generator produces`);
      process.exit(1);
    }
  }
  console.log(`${out} is up to date (${cases.length} cases)`);
} else {
  writeFileSync(out, text);
  writeFileSync(goCopy, text);
  const picks = variants.reduce((n, s) => n + s.picks.length, 0);
  console.log(`wrote ${out}: ${cases.length} cases, ${thresholds.length} thresholds, ${variants.length} variant sets, ${picks} picks`);
}
