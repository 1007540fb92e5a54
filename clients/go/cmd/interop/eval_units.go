package main

// interop eval-units -in FILE: resolves entries for many contexts locally with ctm.Flag and
// prints {"results": [[[value, variant, reason], ...] per case]} (see evaluation-agreement.test.ts).
// FILE: {"cases": [{"entry": base64 Entry, "now": ms}], "contexts": [{"unitId", "environment", "attributes"}]}

import (
	"encoding/base64"
	"encoding/json"
	"flag"
	"os"
	"time"

	"google.golang.org/protobuf/proto"

	"ctm.dev/clients/go/ctm"
	ctmv1 "ctm.dev/clients/go/ctm/v1"
)

func evalUnits(args []string) {
	fs := flag.NewFlagSet("eval-units", flag.ExitOnError)
	in := fs.String("in", "", "input file")
	must(fs.Parse(args), "flags")
	raw, err := os.ReadFile(*in)
	must(err, "reading "+*in)
	var doc struct {
		Cases []struct {
			Entry string `json:"entry"`
			Now   int64  `json:"now"`
		} `json:"cases"`
		Contexts []struct {
			UnitID      string            `json:"unitId"`
			Environment string            `json:"environment"`
			Attributes  map[string]string `json:"attributes"`
		} `json:"contexts"`
	}
	must(json.Unmarshal(raw, &doc), "parsing "+*in)
	results := make([][][3]interface{}, 0, len(doc.Cases))
	for _, c := range doc.Cases {
		b, err := base64.StdEncoding.DecodeString(c.Entry)
		must(err, "entry")
		var e ctmv1.Entry
		must(proto.Unmarshal(b, &e), "entry")
		f, err := ctm.NewFlag(&e)
		must(err, "flag")
		now := time.UnixMilli(c.Now)
		out := make([][3]interface{}, 0, len(doc.Contexts))
		for _, x := range doc.Contexts {
			r := f.Evaluate(ctm.EvalContext{UnitID: x.UnitID, Environment: x.Environment, Attributes: x.Attributes}, now)
			out = append(out, [3]interface{}{r.Value.AsInterface(), r.Variant, r.Reason})
		}
		results = append(results, out)
	}
	emit(map[string]interface{}{"results": results})
}
