package main

// interop eval-units -in FILE: resolves entries for many contexts locally with ctm.Flag and
// prints {"results": [[[value, variant, reason], ...] per case]} (see evaluation-agreement.test.ts).
// FILE: {"cases": [{"entry": base64 Entry, "now": ms}], "contexts": [{"unitId", "environment", "attributes"}]}

import (
	"bufio"
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

// interop eval-bench -addr A -prefix P -key K -contexts FILE -seconds S: a ctm.Cache on P; once it
// holds K it prints {"type":"ready"} and waits for a line on stdin, then evaluates K for the
// contexts in turn for S seconds and prints {"type":"done","evaluations":N,"seconds":T}.
func evalBench(args []string) {
	fs := flag.NewFlagSet("eval-bench", flag.ExitOnError)
	addr := fs.String("addr", "", "ctmd address")
	prefix := fs.String("prefix", "", "prefix to cache")
	key := fs.String("key", "", "key to evaluate")
	file := fs.String("contexts", "", "JSON array of {unitId, environment, attributes}")
	seconds := fs.Float64("seconds", 2, "how long to evaluate")
	must(fs.Parse(args), "flags")
	raw, err := os.ReadFile(*file)
	must(err, "contexts")
	var list []struct {
		UnitID      string            `json:"unitId"`
		Environment string            `json:"environment"`
		Attributes  map[string]string `json:"attributes"`
	}
	must(json.Unmarshal(raw, &list), "contexts")
	contexts := make([]ctm.EvalContext, len(list))
	for i, x := range list {
		contexts[i] = ctm.EvalContext{UnitID: x.UnitID, Environment: x.Environment, Attributes: x.Attributes}
	}
	conn, c := dial(*addr)
	defer conn.Close()
	cache, err := ctm.NewCache(c, ctm.CacheOptions{Prefix: *prefix})
	must(err, "cache")
	defer cache.Close()
	cx, cancel := ctx()
	defer cancel()
	must(cache.Ready(cx), "cache ready")
	_, ok := cache.Get(*key, contexts[0])
	check(ok, "the cache holds %s", *key)
	emit(map[string]interface{}{"type": "ready"})
	_, err = bufio.NewReader(os.Stdin).ReadString('\n')
	must(err, "waiting for go")
	n := 0
	start := time.Now()
	limit := time.Duration(*seconds * float64(time.Second))
	for time.Since(start) < limit {
		for i := 0; i < 1000; i++ {
			cache.Get(*key, contexts[n%len(contexts)])
			n++
		}
	}
	emit(map[string]interface{}{"type": "done", "evaluations": n, "seconds": time.Since(start).Seconds()})
}
