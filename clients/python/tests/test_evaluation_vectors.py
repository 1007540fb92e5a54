"""The shared evaluation vectors (test/vectors/evaluation.json): every case resolved locally.

Each entry is decoded from the protobuf bytes Get sends, compiled once (ctm.evaluate.Flag), and
asked for the case's context at the case's moment; value, variant and reason must be the
daemon's. CTM_EVALUATION_VECTORS overrides the file (the interop test feeds a broken copy).
"""

import base64
import json
import os
import unittest

from ctm.evaluate import EvalContext, Flag, compare_versions, parse_version
from ctm.re2 import Re2Error, compile_re2
from ctm.v1 import record_pb2

VECTORS = os.environ.get("CTM_EVALUATION_VECTORS") or os.path.join(os.path.dirname(__file__), "..", "..", "..", "test", "vectors", "evaluation.json")


def same(a, b):
    """JSON equality where true is not 1 and 1 is 1.0."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return a == b


class EvaluationVectors(unittest.TestCase):
    def test_every_case(self):
        with open(VECTORS, encoding="utf-8") as f:
            doc = json.load(f)
        flags = [Flag(record_pb2.Entry.FromString(base64.b64decode(r["entry"]))) for r in doc["records"]]
        wrong = []
        for i, c in enumerate(doc["cases"]):
            ctx = c["context"]
            got = flags[c["record"]].evaluate(EvalContext(ctx["unitId"], ctx["environment"], ctx["attributes"]), c["now"])
            want = c["want"]
            if not (same(got.value, want["value"]) and got.variant == want["variant"] and got.reason == want["reason"]):
                wrong.append(f"case {i} ({doc['records'][c['record']]['name']}, unit {ctx['unitId']!r}): {got} != {want}")
        self.assertEqual(wrong, [], f"{len(wrong)} of {len(doc['cases'])} cases disagree")
        print(f"{len(doc['records'])} records, {len(doc['cases'])} cases")


class Memory(unittest.TestCase):
    def test_unit_facts_and_versions_stay_bounded(self):
        import ctm.evaluate as ev

        with open(VECTORS, encoding="utf-8") as f:
            doc = json.load(f)
        rec = next(r for r in doc["records"] if r["name"] == "variants by weight")
        flag = Flag(record_pb2.Entry.FromString(base64.b64decode(rec["entry"])))
        first = [flag.evaluate(EvalContext(f"u{i}"), 0).variant for i in range(50)]
        for i in range(ev.UNIT_FACTS_PER_FLAG + 10):
            flag.evaluate(EvalContext(f"unit-{i}"), 0)
        flag.evaluate(EvalContext("x" * 1000), 0)
        self.assertLessEqual(len(flag._facts), ev.UNIT_FACTS_PER_FLAG)
        self.assertNotIn("x" * 1000, flag._facts)
        # Remembering is never a different answer.
        self.assertEqual([flag.evaluate(EvalContext(f"u{i}"), 0).variant for i in range(50)], first)
        for i in range(ev._VERSIONS_KEPT + 10):
            parse_version(f"1.{i}.0")
        parse_version("1.2.3-" + "a" * 200)
        self.assertLessEqual(len(ev._parsed), ev._VERSIONS_KEPT)
        self.assertNotIn("1.2.3-" + "a" * 200, ev._parsed)


class Versions(unittest.TestCase):
    def test_strict_parse_and_precedence(self):
        for v in ["1.2.3", "v1.2.3", " 1.2.3\t", "1.2.3-rc.1+b.7", "0.0.0-0", "9007199254740991.0.0"]:
            self.assertIsNotNone(parse_version(v), v)
        for v in ["1.2", "01.2.3", "1.2.3-01", "=1.2.3", "vv1.2.3", "9007199254740992.0.0", "1.2.3-", "1.2.3+", "\u00851.2.3", "١.٢.٣"]:
            self.assertIsNone(parse_version(v), v)
        order = ["1.0.0-1", "1.0.0-2", "1.0.0-10", "1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta", "1.0.0-beta.2", "1.0.0-beta.11", "1.0.0-rc.1", "1.0.0", "1.0.1", "1.1.0", "2.0.0"]
        for a, b in zip(order, order[1:]):
            self.assertEqual(compare_versions(parse_version(a), parse_version(b)), -1, f"{a} < {b}")
            self.assertEqual(compare_versions(parse_version(b), parse_version(a)), 1, f"{b} > {a}")
        self.assertEqual(compare_versions(parse_version("1.2.3+x"), parse_version("1.2.3+y")), 0)


class Re2(unittest.TestCase):
    def test_meaning(self):
        cases = [
            ("^qa-", "qa-tester", True), ("-canary$", "x-canary\n", False), ("a$", "a", True),
            ("^[[:alpha:]]+$", "abc", True), ("^[[:alpha:]]+$", "Ünï", False), ("(?i)^U-1\\d$", "u-19", True),
            ("\\d", "٣", False), ("\\w", "é", False), ("\\bfoo\\b", "a foo b", True), ("\\bfoo\\b", "afoo", False),
            ("(?s)a.b", "a\nb", True), ("a.b", "a\nb", False), ("(?m)^b$", "a\nb\nc", True), ("^b$", "a\nb\nc", False),
            ("\\Qa.b\\E", "xa.by", True), ("\\Qa.b\\E", "axb", False), ("(?<n>x)y", "xy", True), ("a\\z", "a", True),
            ("[]a]+", "]a", True), ("x{2,3}$", "xxxx", True), ("^x{2,3}$", "xxxx", False), ("(a|ab)(c|bcd)(d*)", "abcd", True),
            ("🚀+", "go 🚀🚀", True), ("^.$", "🚀", True),
        ]
        for pattern, text, want in cases:
            self.assertEqual(compile_re2(pattern).search(text), want, f"{pattern!r} on {text!r}")

    def test_refuses_what_it_cannot_run_as_re2(self):
        for pattern in ["(a)\\1", "a(?=b)", "\\p{Greek}", "(?x) a", "[[:^alpha:]]", "a{1001}"]:
            with self.assertRaises(Re2Error, msg=pattern):
                compile_re2(pattern)

    def test_linear_work_on_a_hostile_unit_id(self):
        # Python's backtracking re takes exponential time here; the NFA visits each instruction
        # at most once per position of the text.
        rx = compile_re2("^(a+)+$")
        for n in (10, 100, 5000):
            self.assertFalse(rx.search("a" * n + "!"))
            self.assertLessEqual(rx.steps, rx.size * (n + 2))
            self.assertGreater(rx.steps, n)


if __name__ == "__main__":
    unittest.main()
