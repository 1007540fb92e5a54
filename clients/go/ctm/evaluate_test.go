package ctm

import (
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	ctmv1 "ctm.dev/clients/go/ctm/v1"
	"google.golang.org/protobuf/proto"
)

func evaluationVectorsPath() string {
	if p := os.Getenv("CTM_EVALUATION_VECTORS"); p != "" {
		return p
	}
	return filepath.Join("testdata", "evaluation.json")
}

type evaluationDoc struct {
	Records []struct {
		Name  string `json:"name"`
		Entry string `json:"entry"`
	} `json:"records"`
	Cases []struct {
		Record  int `json:"record"`
		Context struct {
			UnitID      string            `json:"unitId"`
			Environment string            `json:"environment"`
			Attributes  map[string]string `json:"attributes"`
		} `json:"context"`
		Now  int64 `json:"now"`
		Want struct {
			Value   interface{} `json:"value"`
			Variant string      `json:"variant"`
			Reason  string      `json:"reason"`
		} `json:"want"`
	} `json:"cases"`
}

// TestEvaluationVectors resolves every case of the shared vectors from the entry's protobuf
// bytes, as Get sends them, and compares value, variant and reason with the daemon's.
func TestEvaluationVectors(t *testing.T) {
	raw, err := os.ReadFile(evaluationVectorsPath())
	if err != nil {
		t.Fatalf("reading the vectors: %v", err)
	}
	var doc evaluationDoc
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("parsing the vectors: %v", err)
	}
	flags := make([]*Flag, len(doc.Records))
	for i, r := range doc.Records {
		b, err := base64.StdEncoding.DecodeString(r.Entry)
		if err != nil {
			t.Fatalf("record %d (%s): %v", i, r.Name, err)
		}
		var e ctmv1.Entry
		if err := proto.Unmarshal(b, &e); err != nil {
			t.Fatalf("record %d (%s): %v", i, r.Name, err)
		}
		if flags[i], err = NewFlag(&e); err != nil {
			t.Fatalf("record %d (%s): %v", i, r.Name, err)
		}
	}
	failed := 0
	for i, c := range doc.Cases {
		got := flags[c.Record].Evaluate(EvalContext{UnitID: c.Context.UnitID, Environment: c.Context.Environment, Attributes: c.Context.Attributes}, time.UnixMilli(c.Now))
		var value interface{}
		if got.Value != nil {
			value = got.Value.AsInterface()
		}
		if got.Reason != c.Want.Reason || got.Variant != c.Want.Variant || !reflect.DeepEqual(value, c.Want.Value) {
			failed++
			if failed <= 20 {
				t.Errorf("case %d (%s, unit %q, env %q, at %d): got %v / %q / %s, want %v / %q / %s", i, doc.Records[c.Record].Name, short(c.Context.UnitID), c.Context.Environment, c.Now, value, got.Variant, got.Reason, c.Want.Value, c.Want.Variant, c.Want.Reason)
			}
		}
	}
	if failed > 0 {
		t.Fatalf("%d of %d cases disagree", failed, len(doc.Cases))
	}
	t.Logf("%d records, %d cases", len(doc.Records), len(doc.Cases))
}

func TestSemverEdges(t *testing.T) {
	for _, v := range []string{"1.2.3", "v1.2.3", " 1.2.3\t", "1.2.3-rc.1+b.7", "0.0.0-0", "9007199254740991.0.0"} {
		if _, ok := parseSemver(v); !ok {
			t.Errorf("%q should parse", v)
		}
	}
	for _, v := range []string{"1.2", "01.2.3", "1.2.3-01", "=1.2.3", "vv1.2.3", "9007199254740992.0.0", "1.2.3-", "1.2.3+", "\u00851.2.3"} {
		if _, ok := parseSemver(v); ok {
			t.Errorf("%q should not parse", v)
		}
	}
	order := []string{"1.0.0-1", "1.0.0-2", "1.0.0-10", "1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta", "1.0.0-beta.2", "1.0.0-beta.11", "1.0.0-rc.1", "1.0.0", "1.0.1", "1.1.0", "2.0.0"}
	for i := 1; i < len(order); i++ {
		a, _ := parseSemver(order[i-1])
		b, _ := parseSemver(order[i])
		if a.compare(b) != -1 || b.compare(a) != 1 {
			t.Errorf("%s should come before %s", order[i-1], order[i])
		}
	}
	a, _ := parseSemver("1.2.3+x")
	b, _ := parseSemver("1.2.3+y")
	if a.compare(b) != 0 {
		t.Errorf("build metadata should not order versions")
	}
}
