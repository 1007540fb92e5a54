package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"flag"
	"os"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	"ctm.dev/clients/go/ctm"
	ctmv1 "ctm.dev/clients/go/ctm/v1"
)

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
	out := map[string]interface{}{}
	for name, call := range map[string]func(context.Context) error{
		"get": func(x context.Context) error { _, e := c.Get(x, &ctmv1.GetRequest{Key: "k"}); return e },
		"set": func(x context.Context) error { _, e := c.Set(x, &ctmv1.SetRequest{Key: "k"}); return e },
		"guarded-set": func(x context.Context) error {
			_, e := c.Set(x, &ctmv1.SetRequest{Key: "k", ExpectedVersion: u64(0)})
			return e
		},
	} {
		attempts = 0
		x, cancel := ctx()
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
