package ctm

// Versions as the daemon's semver rules read them: the npm `semver` package's strict parse
// (SemVer 2.0.0, an optional leading "v", surrounding whitespace trimmed, at most 256
// characters, numbers up to 2^53 - 1) and its precedence (build metadata ignored). A general
// Go semver library differs on exactly these edges, and a rule must answer here as it does in
// ctmd; test/vectors/evaluation.json pins them.

import (
	"math"
	"regexp"
	"strconv"
	"strings"
)

var semverPattern = regexp.MustCompile(`^v?(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)` +
	`(?:-((?:[0-9]*[a-zA-Z-][a-zA-Z0-9-]*|0|[1-9][0-9]*)(?:\.(?:[0-9]*[a-zA-Z-][a-zA-Z0-9-]*|0|[1-9][0-9]*))*))?` +
	`(?:\+[a-zA-Z0-9-]+(?:\.[a-zA-Z0-9-]+)*)?$`)

const maxVersionLength = 256
const maxSafeInteger = 9007199254740991

type semverIdent struct {
	digits bool
	n      float64
	s      string
}

type semverVersion struct {
	main [3]float64
	pre  []semverIdent
}

// jsSpace is JavaScript's String.prototype.trim whitespace (Go's unicode.IsSpace differs on
// U+0085 and U+FEFF).
func jsSpace(r rune) bool {
	switch r {
	case '\t', '\n', '\v', '\f', '\r', ' ', 0xa0, 0x1680, 0x2028, 0x2029, 0x202f, 0x205f, 0x3000, 0xfeff:
		return true
	}
	return r >= 0x2000 && r <= 0x200a
}

// utf16Length is a string's JavaScript length.
func utf16Length(s string) int {
	n := 0
	for _, r := range s {
		n++
		if r > 0xffff {
			n++
		}
	}
	return n
}

func parseSemver(v string) (semverVersion, bool) {
	if utf16Length(v) > maxVersionLength {
		return semverVersion{}, false
	}
	m := semverPattern.FindStringSubmatch(strings.TrimFunc(v, jsSpace))
	if m == nil {
		return semverVersion{}, false
	}
	var out semverVersion
	for i := 0; i < 3; i++ {
		n, err := strconv.ParseFloat(m[i+1], 64)
		if err != nil || n > maxSafeInteger {
			return semverVersion{}, false
		}
		out.main[i] = n
	}
	if m[4] != "" {
		for _, id := range strings.Split(m[4], ".") {
			out.pre = append(out.pre, identOf(id))
		}
	}
	return out, true
}

func identOf(id string) semverIdent {
	for _, c := range id {
		if c < '0' || c > '9' {
			return semverIdent{s: id}
		}
	}
	n, _ := strconv.ParseFloat(id, 64)
	if math.IsInf(n, 0) {
		n = math.MaxFloat64
	}
	return semverIdent{digits: true, n: n, s: id}
}

func (a semverVersion) compare(b semverVersion) int {
	for i := 0; i < 3; i++ {
		if a.main[i] != b.main[i] {
			if a.main[i] < b.main[i] {
				return -1
			}
			return 1
		}
	}
	// A version with a prerelease comes before the same version without one.
	switch {
	case len(a.pre) == 0 && len(b.pre) == 0:
		return 0
	case len(a.pre) == 0:
		return 1
	case len(b.pre) == 0:
		return -1
	}
	for i := 0; ; i++ {
		switch {
		case i >= len(a.pre) && i >= len(b.pre):
			return 0
		case i >= len(b.pre):
			return 1
		case i >= len(a.pre):
			return -1
		}
		if c := compareIdent(a.pre[i], b.pre[i]); c != 0 {
			return c
		}
	}
}

// compareIdent orders prerelease identifiers: numbers numerically and below words, words by
// their characters.
func compareIdent(a, b semverIdent) int {
	switch {
	case a.digits && b.digits:
		if a.n == b.n {
			return 0
		}
		if a.n < b.n {
			return -1
		}
		return 1
	case a.digits:
		return -1
	case b.digits:
		return 1
	}
	return strings.Compare(a.s, b.s)
}
