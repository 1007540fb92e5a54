package ctm

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// The shared known-answer vectors, generated from the TypeScript implementation by
// scripts/gen-bucketing-vectors.mjs. CTM_BUCKETING_VECTORS overrides the path (the default
// is relative to this package's directory in the repository).
func vectorsPath() string {
	if p := os.Getenv("CTM_BUCKETING_VECTORS"); p != "" {
		return p
	}
	return filepath.Join("testdata", "bucketing.json")
}

type vectorCase struct {
	Salt          string          `json:"salt"`
	UnitID        string          `json:"unit_id"`
	Bucket        int             `json:"bucket"`
	VariantBucket int             `json:"variant_bucket"`
	In            map[string]bool `json:"in"`
}

type vectorThreshold struct {
	Percent   float64 `json:"percent"`
	Threshold int     `json:"threshold"`
}

type vectorPick struct {
	UnitID        string  `json:"unit_id"`
	VariantBucket int     `json:"variant_bucket"`
	Variant       *string `json:"variant"`
}

type vectorVariantSet struct {
	Salt     string `json:"salt"`
	Variants []struct {
		Name   string  `json:"name"`
		Weight float64 `json:"weight"`
	} `json:"variants"`
	Picks []vectorPick `json:"picks"`
}

type vectorDoc struct {
	Algorithm   string             `json:"algorithm"`
	Buckets     int                `json:"buckets"`
	Percentages []string           `json:"percentages"`
	Cases       []vectorCase       `json:"cases"`
	Thresholds  []vectorThreshold  `json:"thresholds"`
	Variants    []vectorVariantSet `json:"variants"`
}

func loadVectors(t *testing.T) vectorDoc {
	t.Helper()
	raw, err := os.ReadFile(vectorsPath())
	if err != nil {
		t.Fatalf("reading the vectors: %v", err)
	}
	var doc vectorDoc
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("parsing the vectors: %v", err)
	}
	return doc
}

func short(s string) string {
	r := []rune(s)
	if len(r) > 40 {
		return string(r[:40]) + "…"
	}
	return s
}

func TestMurmur3Published(t *testing.T) {
	for _, c := range []struct {
		in   string
		want uint32
	}{
		{"", 0},
		{"hello", 0x248bfa47},
		{"The quick brown fox jumps over the lazy dog", 0x2e4ff723},
		{"\xff\xff\xff\xff", 0x76293b50},
		{"\x21\x43\x65\x87", 0xf55b516b},
		{"\x21\x43\x65", 0x7e4a8634},
		{"\x21\x43", 0xa0f7b07a},
		{"\x21", 0x72661cf4},
		{"\x00\x00\x00\x00", 0x2362f9de},
	} {
		if got := Murmur3([]byte(c.in)); got != c.want {
			t.Errorf("Murmur3(%q) = %#x, want %#x", c.in, got, c.want)
		}
	}
}

func TestRoundHalfUp(t *testing.T) {
	for _, c := range []struct {
		x    float64
		want int
	}{{0.5, 1}, {2.5, 3}, {12500, 12500}, {1.4999999999999998, 1}, {0.49999999999999994, 0}} {
		if got := RoundHalfUp(c.x); got != c.want {
			t.Errorf("RoundHalfUp(%v) = %d, want %d", c.x, got, c.want)
		}
	}
	if ThresholdFor(math.NaN()) != 0 || ThresholdFor(math.Inf(-1)) != 0 || ThresholdFor(math.Inf(1)) != Buckets {
		t.Error("ThresholdFor of NaN/-Inf/+Inf")
	}
	if got := ThresholdFor(0.0025); got != 3 {
		t.Errorf("ThresholdFor(0.0025) = %d, want 3 (ties go up)", got)
	}
}

// TestVectors checks every case: bucket, variant bucket and in/out at every percentage.
func TestVectors(t *testing.T) {
	doc := loadVectors(t)
	if doc.Algorithm != BucketingAlgorithm || doc.Buckets != Buckets {
		t.Fatalf("vectors are for %s/%d, this is %s/%d", doc.Algorithm, doc.Buckets, BucketingAlgorithm, Buckets)
	}
	if len(doc.Cases) < 240 {
		t.Fatalf("only %d cases", len(doc.Cases))
	}
	checks := 0
	for _, c := range doc.Cases {
		b := Bucket(c.Salt, c.UnitID)
		if b != c.Bucket {
			t.Errorf("Bucket(%q, %q) = %d, want %d", short(c.Salt), short(c.UnitID), b, c.Bucket)
		}
		if vb := VariantBucket(c.Salt, c.UnitID); vb != c.VariantBucket {
			t.Errorf("VariantBucket(%q, %q) = %d, want %d", short(c.Salt), short(c.UnitID), vb, c.VariantBucket)
		}
		if len(c.In) != len(doc.Percentages) {
			t.Errorf("case %q/%q has %d percentages, want %d", short(c.Salt), short(c.UnitID), len(c.In), len(doc.Percentages))
		}
		for _, ps := range doc.Percentages {
			want, ok := c.In[ps]
			if !ok {
				t.Errorf("case %q/%q lacks percentage %s", short(c.Salt), short(c.UnitID), ps)
				continue
			}
			p, err := strconv.ParseFloat(ps, 64)
			if err != nil {
				t.Fatalf("percentage %q: %v", ps, err)
			}
			if got := InPercentage(b, p); got != want {
				t.Errorf("InPercentage(bucket(%q, %q)=%d, %s) = %v, want %v", short(c.Salt), short(c.UnitID), b, ps, got, want)
			}
			checks++
		}
		checks += 2
	}
	t.Logf("%d cases, %d checks", len(doc.Cases), checks)
}

// TestEveryThresholdSideIsCovered: each percentage has a unit just inside and just outside.
func TestEveryThresholdSideIsCovered(t *testing.T) {
	doc := loadVectors(t)
	buckets := map[int]bool{}
	for _, c := range doc.Cases {
		buckets[c.Bucket] = true
	}
	for _, ps := range doc.Percentages {
		p, _ := strconv.ParseFloat(ps, 64)
		th := ThresholdFor(p)
		if th > 0 && !buckets[th-1] {
			t.Errorf("no case with bucket %d (just inside %s%%)", th-1, ps)
		}
		if th < Buckets && !buckets[th] {
			t.Errorf("no case with bucket %d (just outside %s%%)", th, ps)
		}
	}
}

func TestThresholds(t *testing.T) {
	doc := loadVectors(t)
	if len(doc.Thresholds) == 0 {
		t.Fatal("no thresholds in the vectors")
	}
	for _, th := range doc.Thresholds {
		if got := ThresholdFor(th.Percent); got != th.Threshold {
			t.Errorf("ThresholdFor(%v) = %d, want %d", th.Percent, got, th.Threshold)
		}
	}
	t.Logf("%d thresholds", len(doc.Thresholds))
}

func TestVariantPicks(t *testing.T) {
	doc := loadVectors(t)
	if len(doc.Variants) == 0 {
		t.Fatal("no variant sets in the vectors")
	}
	picks := 0
	for _, s := range doc.Variants {
		vs := make([]Variant, len(s.Variants))
		for i, v := range s.Variants {
			vs[i] = Variant{Name: v.Name, Weight: v.Weight}
		}
		for _, p := range s.Picks {
			if vb := VariantBucket(s.Salt, p.UnitID); vb != p.VariantBucket {
				t.Errorf("VariantBucket(%q, %q) = %d, want %d", s.Salt, short(p.UnitID), vb, p.VariantBucket)
			}
			got := PickVariant(s.Salt, p.UnitID, vs)
			switch {
			case p.Variant == nil && got != -1:
				t.Errorf("PickVariant(%q, %q) = %q, want none", s.Salt, short(p.UnitID), vs[got].Name)
			case p.Variant != nil && got == -1:
				t.Errorf("PickVariant(%q, %q) = none, want %q", s.Salt, short(p.UnitID), *p.Variant)
			case p.Variant != nil && vs[got].Name != *p.Variant:
				t.Errorf("PickVariant(%q, %q) = %q, want %q", s.Salt, short(p.UnitID), vs[got].Name, *p.Variant)
			}
			picks++
		}
	}
	t.Logf("%d variant sets, %d picks", len(doc.Variants), picks)
}
