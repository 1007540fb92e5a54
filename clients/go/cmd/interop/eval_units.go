package main

// interop eval-units -in FILE: resolves entries for many contexts locally with ctm.Flag and
// prints {"results": [[[value, variant, reason], ...] per case]} (see evaluation-agreement.test.ts).
// FILE: {"cases": [{"entry": base64 Entry, "now": ms}], "contexts": [{"unitId", "environment", "attributes"}]}

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"flag"
	"os"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

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
	ctx, cancel := ctxWith(30 * time.Second)
	defer cancel()
	must(cache.Ready(ctx), "cache ready")
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

func ctxWith(d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), d)
}

// interop retry-attempts -addr A: against an address where nothing listens, how many attempts
// the retry interceptor makes for a read, an unguarded write and a guarded one (a counting
// interceptor sits after it).
func retryAttempts(args []string) {
	fs := flag.NewFlagSet("retry-attempts", flag.ExitOnError)
	addr := fs.String("addr", "", "an address where nothing listens")
	must(fs.Parse(args), "flags")
	attempts := 0
	count := func(ctx context.Context, method string, req, reply interface{}, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		attempts++
		return invoker(ctx, method, req, reply, cc, opts...)
	}
	conn, err := grpc.Dial(*addr, grpc.WithInsecure(), grpc.WithChainUnaryInterceptor(ctm.RetryInterceptor(), count))
	must(err, "dial")
	defer conn.Close()
	c := ctmv1.NewConfigServiceClient(conn)
	zero := uint64(0)
	out := map[string]interface{}{}
	for name, call := range map[string]func(context.Context) error{
		"get": func(x context.Context) error { _, e := c.Get(x, &ctmv1.GetRequest{Key: "k"}); return e },
		"set": func(x context.Context) error { _, e := c.Set(x, &ctmv1.SetRequest{Key: "k"}); return e },
		"guarded-set": func(x context.Context) error {
			_, e := c.Set(x, &ctmv1.SetRequest{Key: "k", ExpectedVersion: &zero})
			return e
		},
	} {
		attempts = 0
		x, cancel := ctxWith(20 * time.Second)
		err := call(x)
		cancel()
		out[name] = map[string]interface{}{"attempts": attempts, "code": strings.ToUpper(codeName(status.Code(err)))}
	}
	emit(out)
}

// interop retry-safe -in FILE: IsRetrySafe for each {"method": full path, "request": base64 bytes}.
func retrySafe(args []string) {
	fs := flag.NewFlagSet("retry-safe", flag.ExitOnError)
	in := fs.String("in", "", "cases file")
	must(fs.Parse(args), "flags")
	raw, err := os.ReadFile(*in)
	must(err, "cases")
	var cases []struct {
		Method  string `json:"method"`
		Type    string `json:"type"`
		Request string `json:"request"`
	}
	must(json.Unmarshal(raw, &cases), "cases")
	out := []bool{}
	for _, k := range cases {
		mt, err := protoregistry.GlobalTypes.FindMessageByName(protoreflect.FullName(k.Type))
		must(err, k.Type)
		m := mt.New().Interface()
		b, err := base64.StdEncoding.DecodeString(k.Request)
		must(err, "request")
		must(proto.Unmarshal(b, m), "request")
		out = append(out, ctm.IsRetrySafe(k.Method, m))
	}
	emit(out)
}
