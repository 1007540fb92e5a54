package ctm

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/grpc"
)

func TestBearerToken(t *testing.T) {
	tok, err := NewBearerToken(" ctm_abc_def\n", false)
	if err != nil {
		t.Fatal(err)
	}
	md, err := tok.GetRequestMetadata(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got := md["authorization"]; got != "Bearer ctm_abc_def" || len(md) != 1 {
		t.Fatalf("metadata %v", md)
	}
	if !tok.RequireTransportSecurity() {
		t.Fatal("a token that does not allow plaintext must require transport security")
	}
	if plain, _ := NewBearerToken("ctm_abc_def", true); plain.RequireTransportSecurity() {
		t.Fatal("allowPlaintext: RequireTransportSecurity must be false")
	}
	for _, bad := range []string{"", "  \n", "ctm_a b", "ctm_é"} {
		if _, err := NewBearerToken(bad, true); err == nil {
			t.Errorf("NewBearerToken(%q) accepted", bad)
		}
	}
}

func TestDialOptions(t *testing.T) {
	// The zero value, and an empty token: plaintext and the retry interceptor, nothing else.
	for _, o := range []Options{{}, {Token: "", AllowTokenOverPlaintext: true}, {Token: " \n"}} {
		opts, err := DialOptions(o)
		if err != nil || len(opts) != 2 {
			t.Fatalf("DialOptions(%+v) = %d options, %v", o, len(opts), err)
		}
	}
	if opts, err := DialOptions(Options{NoRetry: true}); err != nil || len(opts) != 1 {
		t.Fatalf("NoRetry: %d options, %v", len(opts), err)
	}
	// A token over plaintext needs the opt-in.
	if _, err := DialOptions(Options{Token: "ctm_a_b"}); err == nil || !strings.Contains(err.Error(), "AllowTokenOverPlaintext") {
		t.Fatalf("a token over plaintext without the opt-in: %v", err)
	}
	opts, err := DialOptions(Options{Token: "ctm_a_b", AllowTokenOverPlaintext: true})
	if err != nil || len(opts) != 3 {
		t.Fatalf("token over plaintext: %d options, %v", len(opts), err)
	}
	// grpc-go accepts it (it refuses per-RPC credentials that require TLS on an insecure connection).
	conn, err := grpc.Dial("127.0.0.1:1", opts...)
	if err != nil {
		t.Fatalf("grpc.Dial: %v", err)
	}
	conn.Close()

	// TLS from files that are missing or not PEM: errors now, naming the problem.
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(notPEM, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		o    Options
		want string
	}{
		{Options{CAFile: filepath.Join(dir, "missing.pem")}, "CA file"},
		{Options{CAFile: notPEM}, "no PEM certificate"},
		{Options{CertFile: notPEM}, "both CertFile and KeyFile"},
		{Options{CertFile: notPEM, KeyFile: notPEM}, "client certificate"},
		{Options{ServerName: "ctmd"}, "ServerName needs TLS"},
	} {
		if _, err := DialOptions(c.o); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("DialOptions(%+v): %v, want an error with %q", c.o, err, c.want)
		}
	}
	// TLS with the system's CAs and a token: the token then requires the TLS it has.
	opts, err = DialOptions(Options{TLS: true, Token: "ctm_a_b"})
	if err != nil || len(opts) != 3 {
		t.Fatalf("TLS with a token: %d options, %v", len(opts), err)
	}
	conn, err = grpc.Dial("127.0.0.1:1", opts...)
	if err != nil {
		t.Fatalf("grpc.Dial over TLS: %v", err)
	}
	conn.Close()
}

func TestTarget(t *testing.T) {
	one, extra, err := Target("127.0.0.1:7411")
	if err != nil || one != "127.0.0.1:7411" || len(extra) != 0 {
		t.Fatalf("one address: %q %d %v", one, len(extra), err)
	}
	if dns, extra, err := Target("dns:///ctm.internal:7411"); err != nil || dns != "dns:///ctm.internal:7411" || len(extra) != 1 {
		t.Fatalf("dns name: %q %d %v", dns, len(extra), err)
	}
	list, extra, err := Target("10.0.0.1:7411, 10.0.0.2:7412,")
	if err != nil || !strings.HasPrefix(list, "ctm-replicas:///") || len(extra) != 2 {
		t.Fatalf("list: %q %d %v", list, len(extra), err)
	}
	for in, want := range map[string]string{
		"a.example:1,b.example:2": "a.example:1: several addresses must each be an IP address",
		"10.0.0.1,10.0.0.2:7411":  "10.0.0.1: several addresses",
		"10.0.0.1:1,[::1]:2":      "IPv4 or IPv6 addresses, not both",
		" , ":                     "no address given",
	} {
		if _, _, err := Target(in); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Target(%q) = %v, want an error with %q", in, err, want)
		}
	}
}
