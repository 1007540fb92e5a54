// Package ctm holds the parts of a ctm client that are not generated: bucketing, the rule
// that decides which units a percentage rollout includes and which variant a unit gets.
//
// This is a port of packages/core/src/bucketing.ts ("murmur3_x86_32/v1") and must agree with it bit
// for bit; the known-answer vectors in test/vectors/bucketing.json pin every port
// (bucketing_test.go checks all of them). The rule:
//
//	bytes(salt, unit)  = UTF-8 of salt + "\x00" + unit
//	bucket(salt, unit) = murmur3_x86_32(bytes, seed 0) * 100000 >> 32, in [0, 100000)
//	threshold(p)       = roundHalfUp(p * 1000) clamped to [0, 100000]; p <= 0 or NaN -> 0,
//	                     p >= 100 -> 100000
//	in(unit, p)        = bucket(salt, unit) < threshold(p)
//	variantBucket      = bucket(salt + "\x00variant", unit)
//	pickVariant        = the first variant whose boundary
//	                     roundHalfUp(cum_i / total * 100000) is > variantBucket
//
// Strings are hashed as their bytes, which for Go strings is UTF-8. JavaScript strings can
// hold lone UTF-16 surrogates, which the reference implementation encodes as U+FFFD; Go
// cannot hold them, and encoding/json decodes a lone "\ud800" escape to U+FFFD, so a unit id
// read from JSON or protobuf hashes exactly as in TypeScript and Python.
//
// Floating point: every product below is wrapped in an explicit float64 conversion, which
// the Go spec defines as rounding to float64 and forbids fusing into a multiply-add (FMA) on
// architectures that have one. Fused operations round once instead of twice and could move a
// unit across a boundary.
package ctm

import (
	"math"

	"github.com/spaolacci/murmur3"
)

// BucketingAlgorithm names the rule this package implements.
const BucketingAlgorithm = "murmur3_x86_32/v1"

// Buckets is the number of buckets: a unit's bucket is in [0, Buckets).
const Buckets = 100000

// Murmur3 is MurmurHash3 x86_32 of data with seed 0.
func Murmur3(data []byte) uint32 {
	return murmur3.Sum32(data)
}

func bucketOf(s string) int {
	return int((uint64(Murmur3([]byte(s))) * Buckets) >> 32)
}

// Bucket is the unit's bucket under salt, in [0, 100000).
func Bucket(salt, unitID string) int {
	return bucketOf(salt + "\x00" + unitID)
}

// VariantBucket is the bucket used for variant assignment: Bucket(salt+"\x00variant", unitID).
func VariantBucket(salt, unitID string) int {
	return bucketOf(salt + "\x00variant\x00" + unitID)
}

// RoundHalfUp is the integer nearest to x, ties going up, for finite x >= 0 (JavaScript's
// Math.round). It compares the exact fraction x - floor(x) with 0.5: math.Round rounds ties
// away from zero (the same for x >= 0), but a floating-point math.Floor(x + 0.5) is wrong for
// x = 0.49999999999999994.
func RoundHalfUp(x float64) int {
	f := math.Floor(x)
	if x-f >= 0.5 {
		return int(f) + 1
	}
	return int(f)
}

// ThresholdFor is how many buckets a percentage covers: RoundHalfUp(percent * 1000) clamped
// to [0, 100000]. NaN and percentages <= 0 give 0; 100 and above give 100000.
func ThresholdFor(percent float64) int {
	if !(percent > 0) {
		return 0
	}
	if percent >= 100 {
		return Buckets
	}
	t := RoundHalfUp(float64(percent * 1000))
	if t > Buckets {
		return Buckets
	}
	return t
}

// InPercentage says whether a unit with bucket b is inside a rollout at percent.
func InPercentage(b int, percent float64) bool {
	return b < ThresholdFor(percent)
}

// Variant is a weighted variant of a rollout, as in the RolloutPlan.
type Variant struct {
	Name   string
	Weight float64
}

func effectiveWeight(w float64) float64 {
	if w > 0 && !math.IsInf(w, 1) {
		return w
	}
	return 0 // negative, zero, NaN and infinite weights count as 0
}

// PickVariant returns the index of the variant the unit gets, or -1 when there is none (no
// variants, or a total weight that is not a finite number > 0). The sums are plain
// left-to-right float64 additions, as in the reference implementation.
func PickVariant(salt, unitID string, variants []Variant) int {
	total := 0.0
	for _, v := range variants {
		total += effectiveWeight(v.Weight)
	}
	if !(total > 0) || math.IsInf(total, 0) {
		return -1
	}
	vb := VariantBucket(salt, unitID)
	cum := 0.0
	for i, v := range variants {
		cum += effectiveWeight(v.Weight)
		if RoundHalfUp(float64(float64(cum/total)*Buckets)) > vb {
			return i
		}
	}
	return -1 // unreachable: the last boundary is 100000
}
