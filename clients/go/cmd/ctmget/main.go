// Command ctmget prints the value of a key as a unit gets it, as one JSON object:
//
//	ctmget -addr 127.0.0.1:7411 -key checkout.v2 -unit user-42 [-env prod] [-attr app_version=3.1.0]
//
// With a ctmd started with --auth on, the token comes from -token or CTM_TOKEN; -cacert (or
// CTM_CACERT) turns TLS on. A token travels over plaintext only to a loopback address.
//
//	{"key":"checkout.v2","value":true,"variant":"new","reason":"IN_ROLLOUT","version":3,"revision":17}
//
// It is also the smallest example of the generated Go client (package ctmv1).
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"net"

	"google.golang.org/grpc"
	"google.golang.org/grpc/status"

	"ctm.dev/clients/go/ctm"
	ctmv1 "ctm.dev/clients/go/ctm/v1"
)

type attrs map[string]string

func (a attrs) String() string { return fmt.Sprint(map[string]string(a)) }
func (a attrs) Set(s string) error {
	k, v, ok := strings.Cut(s, "=")
	if !ok {
		return fmt.Errorf("want name=value, got %q", s)
	}
	a[k] = v
	return nil
}

func main() {
	addr := flag.String("addr", "127.0.0.1:7411", "ctmd address")
	key := flag.String("key", "", "the key (required)")
	unit := flag.String("unit", "", "the unit id the value resolves for")
	env := flag.String("env", "", "the unit's environment (for rings)")
	timeout := flag.Duration("timeout", 10*time.Second, "deadline of the call")
	token := flag.String("token", os.Getenv("CTM_TOKEN"), "bearer token for ctmd with --auth on (default $CTM_TOKEN)")
	cacert := flag.String("cacert", os.Getenv("CTM_CACERT"), "PEM CA of ctmd's certificate: TLS (default $CTM_CACERT)")
	attributes := attrs{}
	flag.Var(attributes, "attr", "an attribute name=value (repeatable)")
	flag.Parse()
	if *key == "" {
		fmt.Fprintln(os.Stderr, "ctmget: -key is required")
		os.Exit(2)
	}

	opts, err := ctm.DialOptions(ctm.Options{Token: *token, CAFile: *cacert, AllowTokenOverPlaintext: loopback(*addr)})
	if err != nil {
		fmt.Fprintln(os.Stderr, "ctmget:", err)
		os.Exit(2)
	}
	conn, err := grpc.Dial(*addr, opts...)
	if err != nil {
		fmt.Fprintln(os.Stderr, "ctmget:", err)
		os.Exit(1)
	}
	defer conn.Close()
	client := ctmv1.NewConfigServiceClient(conn)

	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	r, err := client.Get(ctx, &ctmv1.GetRequest{
		Key:     *key,
		Context: &ctmv1.EvaluationContext{UnitId: *unit, Environment: *env, Attributes: attributes},
	})
	if err != nil {
		s := status.Convert(err)
		fmt.Fprintf(os.Stderr, "ctmget: %s: %s\n", s.Code(), s.Message())
		os.Exit(1)
	}
	out, _ := json.Marshal(map[string]interface{}{
		"key":      *key,
		"value":    r.GetValue().AsInterface(),
		"variant":  r.Variant,
		"reason":   strings.TrimPrefix(r.Reason.String(), "REASON_"),
		"version":  r.GetEntry().GetVersion(),
		"revision": r.GetEntry().GetRevision(),
	})
	fmt.Println(string(out))
}

// loopback reports whether addr (host:port) names this machine only.
func loopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
