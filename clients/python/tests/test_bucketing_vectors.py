"""The Python port of bucketing reproduces every known-answer vector.

Run from the repository root:
    python3 -m unittest discover -s clients/python/tests -t clients/python

The vectors (test/vectors/bucketing.json) are generated from the TypeScript implementation
by scripts/gen-bucketing-vectors.mjs; this murmur3 is written independently, so agreement
here cross-checks both.
"""

import json
import os
import unittest

from ctm.bucketing import (
    BUCKETING_ALGORITHM,
    BUCKETS,
    bucket,
    in_percentage,
    murmur3,
    pick_variant,
    round_half_up,
    threshold_for,
    variant_bucket,
)

REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
VECTORS = os.path.join(REPO_ROOT, "test", "vectors", "bucketing.json")


def load_vectors():
    with open(VECTORS, encoding="utf-8") as f:
        return json.load(f)


class PublishedMurmur3(unittest.TestCase):
    def test_published_values(self):
        self.assertEqual(murmur3(b""), 0)
        self.assertEqual(murmur3(b"hello"), 0x248BFA47)
        self.assertEqual(murmur3(b"The quick brown fox jumps over the lazy dog"), 0x2E4FF723)
        # With a seed, as in the reference test suites.
        self.assertEqual(murmur3(b"", 1), 0x514E28B7)
        self.assertEqual(murmur3(b"", 0xFFFFFFFF), 0x81F16F39)
        self.assertEqual(murmur3(b"\xff\xff\xff\xff"), 0x76293B50)
        self.assertEqual(murmur3(b"\x21\x43\x65\x87"), 0xF55B516B)
        self.assertEqual(murmur3(b"\x21\x43\x65"), 0x7E4A8634)
        self.assertEqual(murmur3(b"\x21\x43"), 0xA0F7B07A)
        self.assertEqual(murmur3(b"\x21"), 0x72661CF4)
        self.assertEqual(murmur3(b"\x00\x00\x00\x00"), 0x2362F9DE)


class Rounding(unittest.TestCase):
    def test_round_half_up_is_not_bankers(self):
        self.assertEqual(round_half_up(0.5), 1)
        self.assertEqual(round_half_up(2.5), 3)
        self.assertEqual(round_half_up(12500.0), 12500)
        self.assertEqual(round_half_up(1.4999999999999998), 1)
        # A floating-point floor(x + 0.5) gets this one wrong (x + 0.5 rounds up to 1.0).
        self.assertEqual(round_half_up(0.49999999999999994), 0)

    def test_threshold_edges(self):
        self.assertEqual(threshold_for(float("nan")), 0)
        self.assertEqual(threshold_for(float("-inf")), 0)
        self.assertEqual(threshold_for(float("inf")), BUCKETS)
        self.assertEqual(threshold_for(0.0025), 3)  # 2.5 rounds up; round() would give 2


class Vectors(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.doc = load_vectors()

    def test_header(self):
        self.assertEqual(self.doc["algorithm"], BUCKETING_ALGORITHM)
        self.assertEqual(self.doc["buckets"], BUCKETS)
        self.assertGreaterEqual(len(self.doc["cases"]), 240)

    def test_cases(self):
        for c in self.doc["cases"]:
            with self.subTest(salt=c["salt"][:40], unit_id=c["unit_id"][:40]):
                b = bucket(c["salt"], c["unit_id"])
                self.assertEqual(b, c["bucket"])
                self.assertEqual(variant_bucket(c["salt"], c["unit_id"]), c["variant_bucket"])
                self.assertEqual(set(c["in"]), set(self.doc["percentages"]))
                for p, expected in c["in"].items():
                    self.assertIs(in_percentage(b, float(p)), expected, p)

    def test_every_threshold_side_is_covered(self):
        # Each percentage has a unit just inside and just outside it (where both exist).
        buckets = {c["bucket"] for c in self.doc["cases"]}
        for p in self.doc["percentages"]:
            t = threshold_for(float(p))
            if t > 0:
                self.assertIn(t - 1, buckets, p)
            if t < BUCKETS:
                self.assertIn(t, buckets, p)

    def test_thresholds(self):
        for t in self.doc["thresholds"]:
            with self.subTest(percent=t["percent"]):
                self.assertEqual(threshold_for(t["percent"]), t["threshold"])

    def test_variant_picks(self):
        for s in self.doc["variants"]:
            pairs = [(v["name"], v["weight"]) for v in s["variants"]]
            for pick in s["picks"]:
                with self.subTest(salt=s["salt"], unit_id=pick["unit_id"][:40]):
                    self.assertEqual(variant_bucket(s["salt"], pick["unit_id"]), pick["variant_bucket"])
                    self.assertEqual(pick_variant(s["salt"], pick["unit_id"], pairs), pick["variant"])


if __name__ == "__main__":
    unittest.main()
