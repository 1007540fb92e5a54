"""RE2 matching in linear time, for the unit-id rules of rollouts evaluated in process.

ctmd runs rule regexes with RE2 semantics (linear time, no backreferences or lookaround; a
match anywhere counts). Python's `re` backtracks: a rule such as ``(a+)+$`` that RE2 answers in
linear time can take it exponential time on a hostile unit id, and its meaning differs on
edges (``$`` before a final newline, Unicode ``\\d``). No RE2 binding ships with Debian's
Python, so this module parses the pattern with the standard library's own regex parser and runs
it on a Thompson NFA (a Pike VM without captures): time linear in the unit id, RE2's meaning
for ``^ $ \\A \\z \\b \\d \\w \\s .``, POSIX classes and ``(?ims)`` flags. A pattern outside that
subset (``\\p{Greek}``, say) raises Re2Error, and the caller answers it through the daemon.
"""

from __future__ import annotations

from typing import Callable, List, Optional, Tuple

try:  # Python 3.11+
    from re import _constants as _c
    from re import _parser as _p
except ImportError:  # pragma: no cover - Python < 3.11
    import sre_constants as _c  # type: ignore[no-redef]
    import sre_parse as _p  # type: ignore[no-redef]

import re as _re

__all__ = ["Re2Error", "compile_re2", "Regex"]


class Re2Error(ValueError):
    """A pattern this module cannot run with RE2's meaning."""


# POSIX classes as RE2 defines them (ASCII only).
_POSIX = {
    "alnum": "0-9A-Za-z",
    "alpha": "A-Za-z",
    "ascii": "\\x00-\\x7f",
    "blank": "\\t ",
    "cntrl": "\\x00-\\x1f\\x7f",
    "digit": "0-9",
    "graph": "!-~",
    "lower": "a-z",
    "print": " -~",
    "punct": "!-/:-@\\[-`{-~",
    "space": "\\t\\n\\v\\f\\r ",
    "upper": "A-Z",
    "word": "0-9A-Za-z_",
    "xdigit": "0-9A-Fa-f",
}

# Instructions: (op, arg). "char" tests one character, "split" forks, "jmp" goes, "assert"
# checks a position, "match" accepts.
_Instr = Tuple[str, object]
_MAX_PROGRAM = 20_000


def _translate(pattern: str) -> str:
    """RE2's syntax where Python's parser reads it differently: POSIX classes, \\z, \\Q..\\E, (?<name>."""
    out: List[str] = []
    i = 0
    in_class = False
    n = len(pattern)
    while i < n:
        ch = pattern[i]
        if ch == "\\":
            nxt = pattern[i + 1] if i + 1 < n else ""
            if nxt == "z" and not in_class:
                out.append("\\Z")
            elif nxt == "Q" and not in_class:
                end = pattern.find("\\E", i + 2)
                literal = pattern[i + 2 :] if end < 0 else pattern[i + 2 : end]
                out.append(_re.escape(literal))
                i = n if end < 0 else end + 2
                continue
            elif nxt in ("p", "P", "C"):
                raise Re2Error(f"\\{nxt} is not supported in local evaluation")
            elif nxt == "Z":
                raise Re2Error("\\Z is not RE2 syntax")
            else:
                out.append(pattern[i : i + 2])
            i += 2
            continue
        if in_class:
            if ch == "[" and pattern.startswith("[:", i):
                end = pattern.find(":]", i + 2)
                name = pattern[i + 2 : end] if end > 0 else ""
                if name.startswith("^"):
                    raise Re2Error(f"[:{name}:] is not supported in local evaluation")
                if name not in _POSIX:
                    raise Re2Error(f"unknown POSIX class [:{name}:]")
                out.append(_POSIX[name])
                i = end + 2
                continue
            if ch == "]":
                in_class = False
            out.append(ch)
            i += 1
            continue
        if ch == "[":
            in_class = True
            out.append(ch)
            i += 1
            # A "]" or "^]" right after "[" is a literal, not the end of the class.
            if pattern.startswith("^", i):
                out.append("^")
                i += 1
            if pattern.startswith("]", i):
                out.append("\\]")
                i += 1
            continue
        if pattern.startswith("(?<", i) and not pattern.startswith("(?<=", i) and not pattern.startswith("(?<!", i):
            out.append("(?P<")
            i += 3
            continue
        out.append(ch)
        i += 1
    return "".join(out)


def _is_word(ch: str) -> bool:
    return ch == "_" or "0" <= ch <= "9" or "a" <= ch <= "z" or "A" <= ch <= "Z"


_CATEGORIES: dict = {
    _c.CATEGORY_DIGIT: lambda ch: "0" <= ch <= "9",
    _c.CATEGORY_NOT_DIGIT: lambda ch: not ("0" <= ch <= "9"),
    _c.CATEGORY_SPACE: lambda ch: ch in "\t\n\f\r ",
    _c.CATEGORY_NOT_SPACE: lambda ch: ch not in "\t\n\f\r ",
    _c.CATEGORY_WORD: _is_word,
    _c.CATEGORY_NOT_WORD: lambda ch: not _is_word(ch),
}


def _variants(ch: str) -> Tuple[str, ...]:
    """A character and its simple case partners (single characters only, as RE2 folds)."""
    out = {ch}
    for x in (ch.lower(), ch.upper()):
        if len(x) == 1:
            out.add(x)
            for y in (x.lower(), x.upper()):
                if len(y) == 1:
                    out.add(y)
    return tuple(out)


class _Compiler:
    def __init__(self) -> None:
        self.prog: List[_Instr] = []

    def emit(self, op: str, arg: object = None) -> int:
        if len(self.prog) >= _MAX_PROGRAM:
            raise Re2Error("pattern too large for local evaluation")
        self.prog.append((op, arg))
        return len(self.prog) - 1

    def char(self, test: Callable[[str], bool], fold: bool) -> None:
        self.emit("char", (lambda ch: any(test(v) for v in _variants(ch))) if fold else test)

    def seq(self, items: list, flags: int) -> None:
        for op, av in items:
            self.node(op, av, flags)

    def node(self, op: object, av: object, flags: int) -> None:
        fold = bool(flags & _re.IGNORECASE)
        if op is _c.LITERAL:
            c = chr(av)  # type: ignore[arg-type]
            self.char(lambda ch: ch == c, fold)
        elif op is _c.NOT_LITERAL:
            c = chr(av)  # type: ignore[arg-type]
            if fold:
                partners = _variants(c)
                self.emit("char", lambda ch: not any(v in partners for v in _variants(ch)))
            else:
                self.emit("char", lambda ch: ch != c)
        elif op is _c.ANY:
            dotall = bool(flags & _re.DOTALL)
            self.emit("char", (lambda ch: True) if dotall else (lambda ch: ch != "\n"))
        elif op is _c.IN:
            self.char_class(av, fold)  # type: ignore[arg-type]
        elif op is _c.BRANCH:
            self.branch(av[1], flags)  # type: ignore[index]
        elif op is _c.SUBPATTERN:
            _group, add, remove, sub = av  # type: ignore[misc]
            self.seq(sub, (flags | add) & ~remove)
        elif op in (_c.MAX_REPEAT, _c.MIN_REPEAT):
            lo, hi, sub = av  # type: ignore[misc]
            self.repeat(lo, hi, sub, flags)
        elif op is _c.AT:
            self.emit("assert", (av, bool(flags & _re.MULTILINE)))
        else:
            raise Re2Error(f"{op} is not RE2 syntax (no backreferences, lookaround or possessive repeats)")

    def char_class(self, items: list, fold: bool) -> None:
        negate = False
        tests: List[Callable[[str], bool]] = []
        for op, av in items:
            if op is _c.NEGATE:
                negate = True
            elif op is _c.LITERAL:
                tests.append(lambda ch, c=chr(av): ch == c)
            elif op is _c.RANGE:
                tests.append(lambda ch, lo=chr(av[0]), hi=chr(av[1]): lo <= ch <= hi)
            elif op is _c.CATEGORY:
                if av not in _CATEGORIES:
                    raise Re2Error(f"{av} is not supported in local evaluation")
                tests.append(_CATEGORIES[av])
            else:
                raise Re2Error(f"{op} in a class is not supported in local evaluation")

        def inside(ch: str) -> bool:
            return any(t(v) for t in tests for v in (_variants(ch) if fold else (ch,)))

        self.emit("char", (lambda ch: not inside(ch)) if negate else inside)

    def branch(self, alternatives: list, flags: int) -> None:
        jumps: List[int] = []
        for k, alt in enumerate(alternatives):
            if k < len(alternatives) - 1:
                split = self.emit("split", None)
                self.seq(alt, flags)
                jumps.append(self.emit("jmp", None))
                self.prog[split] = ("split", (split + 1, len(self.prog)))
            else:
                self.seq(alt, flags)
        for j in jumps:
            self.prog[j] = ("jmp", len(self.prog))

    def repeat(self, lo: int, hi: int, sub: list, flags: int) -> None:
        if lo > 1000 or (hi != _c.MAXREPEAT and hi > 1000):
            raise Re2Error("a repeat count above 1000 is not RE2 syntax")
        for _ in range(lo):
            self.seq(sub, flags)
        if hi == _c.MAXREPEAT:
            split = self.emit("split", None)
            self.seq(sub, flags)
            self.emit("jmp", split)
            self.prog[split] = ("split", (split + 1, len(self.prog)))
            return
        ends: List[int] = []
        for _ in range(hi - lo):
            split = self.emit("split", None)
            ends.append(split)
            self.seq(sub, flags)
        for s in ends:
            self.prog[s] = ("split", (s + 1, len(self.prog)))


class Regex:
    """A compiled rule pattern: `search(text)` says whether it matches anywhere, in linear time."""

    def __init__(self, pattern: str) -> None:
        self.pattern = pattern
        try:
            parsed = _p.parse(_translate(pattern), 0)
        except _re.error as e:
            raise Re2Error(f"{pattern!r}: {e}") from None
        flags = parsed.state.flags
        if flags & _re.VERBOSE:
            raise Re2Error("(?x) is not RE2 syntax")
        comp = _Compiler()
        comp.seq(list(parsed), flags)
        comp.emit("match")
        self._prog = comp.prog
        # Instructions visited by the last search: at most size x (len(text) + 1).
        self.steps = 0

    def _assert(self, kind: Tuple[object, bool], text: str, i: int) -> bool:
        at, multiline = kind
        before = text[i - 1] if i > 0 else ""
        after = text[i] if i < len(text) else ""
        if at is _c.AT_BEGINNING_STRING or (at is _c.AT_BEGINNING and not multiline):
            return i == 0
        if at is _c.AT_BEGINNING:
            return i == 0 or before == "\n"
        if at is _c.AT_END_STRING or (at is _c.AT_END and not multiline):
            # RE2's $ without (?m) is the end of the text only, never before a final newline.
            return i == len(text)
        if at is _c.AT_END:
            return i == len(text) or after == "\n"
        if at is _c.AT_BOUNDARY:
            return _is_word(before) != _is_word(after) if (before or after) else False
        if at is _c.AT_NON_BOUNDARY:
            return not (_is_word(before) != _is_word(after) if (before or after) else False)
        raise Re2Error(f"{at} is not supported in local evaluation")

    def _closure(self, pcs: List[int], text: str, i: int, seen: set) -> Optional[List[int]]:
        """The character tests reachable from pcs without consuming; None once `match` is reached."""
        prog = self._prog
        stack = list(reversed(pcs))
        out: List[int] = []
        while stack:
            pc = stack.pop()
            if pc in seen:
                continue
            seen.add(pc)
            self.steps += 1
            op, arg = prog[pc]
            if op == "char":
                out.append(pc)
            elif op == "match":
                return None
            elif op == "jmp":
                stack.append(arg)  # type: ignore[arg-type]
            elif op == "split":
                a, b = arg  # type: ignore[misc]
                stack.append(b)
                stack.append(a)
            elif op == "assert":
                if self._assert(arg, text, i):  # type: ignore[arg-type]
                    stack.append(pc + 1)
        return out

    @property
    def size(self) -> int:
        """Instructions in the program: a search visits each at most once per position."""
        return len(self._prog)

    def search(self, text: str) -> bool:
        self.steps = 0
        prog = self._prog
        threads: List[int] = []
        for i in range(len(text) + 1):
            seen: set = set()
            # An unanchored search: a new thread starts at every position.
            current = self._closure(threads + [0], text, i, seen)
            if current is None:
                return True
            if i == len(text):
                return False
            ch = text[i]
            threads = [pc + 1 for pc in current if prog[pc][1](ch)]  # type: ignore[operator]
        return False


def compile_re2(pattern: str) -> Regex:
    return Regex(pattern)
