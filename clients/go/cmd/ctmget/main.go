// Command ctmget prints the value of a key as a unit gets it, as one JSON object:
//
//	ctmget -addr 127.0.0.1:7411 -key checkout.v2 -unit user-42 [-env prod] [-attr app_version=3.1.0]
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

	"google.golang.org/grpc"
	"google.golang.org/grpc/status"

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
	attributes := attrs{}
	flag.Var(attributes, "attr", "an attribute name=value (repeatable)")
	flag.Parse()
	if *key == "" {
		fmt.Fprintln(os.Stderr, "ctmget: -key is required")
		os.Exit(2)
	}

	conn, err := grpc.Dial(*addr, grpc.WithInsecure())
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
