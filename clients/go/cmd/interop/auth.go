package main

import (
	"context"
	"flag"
	"os"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/status"

	"ctm.dev/clients/go/ctm"
	ctmv1 "ctm.dev/clients/go/ctm/v1"
)

// authCheck: with the token in CTM_TOKEN (or without it), over plaintext or TLS, try Set, Get
// and Watch on one key through ctm.DialOptions and print what each did as one JSON object; the
// test (test/interop/auth-clients.test.ts) decides what is right. Each result is
// {"ok": true, "result": ...} or {"ok": false, "code": "Unauthenticated", "details": "..."}.
// The watch starts at the first Set's revision (a replayed event), then a second Set is made
// while the stream is open (a live event); it reports both events.
func authCheck(args []string) {
	fs := flag.NewFlagSet("auth", flag.ExitOnError)
	addr := fs.String("addr", "127.0.0.1:7411", "ctmd address")
	key := fs.String("key", "", "the key")
	ca := fs.String("ca", "", "PEM CA of ctmd's certificate (TLS)")
	cert := fs.String("cert", "", "PEM client certificate (mTLS)")
	certKey := fs.String("cert-key", "", "its PEM key")
	must(fs.Parse(args), "flags")
	token := os.Getenv("CTM_TOKEN")
	opts, err := ctm.DialOptions(ctm.Options{Token: token, AllowTokenOverPlaintext: true, CAFile: *ca, CertFile: *cert, KeyFile: *certKey})
	must(err, "ctm.DialOptions")
	conn, err := grpc.Dial(*addr, opts...)
	must(err, "dial "+*addr)
	defer conn.Close()
	c := ctmv1.NewConfigServiceClient(conn)

	result := func(v interface{}, err error) map[string]interface{} {
		if err != nil {
			s := status.Convert(err)
			return map[string]interface{}{"ok": false, "code": s.Code().String(), "details": s.Message()}
		}
		return map[string]interface{}{"ok": true, "result": v}
	}
	event := func(e *ctmv1.Entry) map[string]interface{} {
		return map[string]interface{}{"key": e.Key, "revision": e.Revision, "version": e.Version, "value": jsonOf(e.Value), "principal": e.Principal}
	}
	set := func(n float64) (*ctmv1.Entry, error) {
		cx, cancel := ctx()
		defer cancel()
		r, err := c.Set(cx, &ctmv1.SetRequest{Key: *key, Value: value(map[string]interface{}{"n": n}), Author: "go"})
		if err != nil {
			return nil, err
		}
		return r.Entry, nil
	}
	out := map[string]interface{}{"token": token != ""}

	first, err := set(1)
	if err == nil {
		out["set"] = result(event(first), nil)
	} else {
		out["set"] = result(nil, err)
	}
	cx, cancel := ctx()
	g, err := c.Get(cx, &ctmv1.GetRequest{Key: *key})
	cancel()
	if err == nil {
		out["get"] = result(jsonOf(g.Value), nil)
	} else {
		out["get"] = result(nil, err)
	}

	out["watch"] = result(func() (interface{}, error) {
		start := uint64(1)
		if first != nil {
			start = first.Revision
		}
		wctx, wcancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer wcancel()
		stream, err := c.Watch(wctx, &ctmv1.WatchRequest{Key: *key, StartRevision: start})
		if err != nil {
			return nil, err
		}
		got := []interface{}{}
		for len(got) < 2 {
			resp, err := stream.Recv()
			if err != nil {
				return nil, err
			}
			for _, e := range resp.Events {
				got = append(got, event(e))
				if len(got) == 1 {
					// While the stream is open: a live event.
					if _, err := set(2); err != nil {
						return nil, err
					}
				}
			}
		}
		return got, nil
	}())
	emit(out)
}
