package ctm

// Connecting to ctmd with a bearer token (--auth on) and TLS (--tls-cert, --tls-client-ca).

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
)

// Options say how to reach ctmd. The zero value is a plaintext connection without a token,
// which is what a ctmd with the default --auth off on loopback expects.
type Options struct {
	// Token is a bearer token ("ctm_<id>_<secret>") for a ctmd started with --auth on, sent
	// as "authorization: Bearer <token>" on every call, Watch streams included. Surrounding
	// whitespace is trimmed (a token read from a file keeps its newline); "" sends none. A
	// ctmd with --auth off ignores it.
	Token string

	// AllowTokenOverPlaintext lets Token travel over a plaintext connection, where anyone on
	// the path can read it: for loopback, or a network you trust. Without it, a Token without
	// TLS is an error (grpc-go refuses such credentials on an insecure connection too).
	AllowTokenOverPlaintext bool

	// CAFile is a PEM file of the CA that signed ctmd's certificate. Setting it, CertFile or
	// TLS makes the connection TLS (1.2 or newer).
	CAFile string
	// CertFile and KeyFile are a PEM client certificate (chain) and its key, presented when
	// ctmd asks for one (mTLS, --tls-client-ca). Both or neither.
	CertFile, KeyFile string
	// TLS asks for TLS trusting the system's CAs when CAFile is not set.
	TLS bool
	// NoRetry turns off RetryInterceptor, which retries a unary call after UNAVAILABLE where
	// that cannot apply it twice (IsRetrySafe).
	NoRetry bool
	// ServerName checks ctmd's certificate against this name instead of the address's host.
	ServerName string
}

func (o Options) secure() bool { return o.TLS || o.CAFile != "" || o.CertFile != "" }

// DialOptions returns the grpc.DialOptions for o: the transport (TLS credentials, or
// grpc.WithInsecure()) and, with a Token, per-RPC credentials that send it on every call.
// Files are read now, so a missing or unusable one is this error, not a failed first call.
//
//	opts, err := ctm.DialOptions(ctm.Options{Token: os.Getenv("CTM_TOKEN"), CAFile: "ca.pem"})
//	conn, err := grpc.Dial("ctm.internal:7411", opts...)
func DialOptions(o Options) ([]grpc.DialOption, error) {
	var opts []grpc.DialOption
	if o.secure() {
		creds, err := TLSCredentials(o.CAFile, o.CertFile, o.KeyFile, o.ServerName)
		if err != nil {
			return nil, err
		}
		opts = append(opts, grpc.WithTransportCredentials(creds))
	} else {
		if o.ServerName != "" {
			return nil, errors.New("ctm: ServerName needs TLS (CAFile, CertFile or TLS)")
		}
		opts = append(opts, grpc.WithInsecure())
	}
	if token := strings.TrimSpace(o.Token); token != "" {
		if !o.secure() && !o.AllowTokenOverPlaintext {
			return nil, errors.New("ctm: a token over plaintext travels in clear: use TLS (CAFile, CertFile or TLS), or set AllowTokenOverPlaintext for loopback")
		}
		creds, err := NewBearerToken(token, !o.secure())
		if err != nil {
			return nil, err
		}
		opts = append(opts, grpc.WithPerRPCCredentials(creds))
	}
	if !o.NoRetry {
		opts = append(opts, grpc.WithUnaryInterceptor(RetryInterceptor()))
	}
	return opts, nil
}

// BearerToken is a credentials.PerRPCCredentials that sends "authorization: Bearer <token>"
// with every call. Use it with grpc.WithPerRPCCredentials, or per call with
// grpc.PerRPCCredentials; DialOptions makes one.
type BearerToken struct {
	token string
	// plaintext: RequireTransportSecurity answers false, so grpc-go sends it without TLS.
	plaintext bool
}

// NewBearerToken checks token (trimmed) and returns its credentials. allowPlaintext lets
// grpc-go send it over a connection without TLS; otherwise it refuses to (grpc.Dial with
// grpc.WithInsecure fails).
func NewBearerToken(token string, allowPlaintext bool) (BearerToken, error) {
	token = strings.TrimSpace(token)
	if token == "" {
		return BearerToken{}, errors.New("ctm: empty token")
	}
	for i := 0; i < len(token); i++ {
		if token[i] < 0x21 || token[i] > 0x7e {
			return BearerToken{}, errors.New("ctm: the token must be printable ASCII without spaces (ctm_<id>_<secret>)")
		}
	}
	return BearerToken{token: token, plaintext: allowPlaintext}, nil
}

// GetRequestMetadata implements credentials.PerRPCCredentials.
func (t BearerToken) GetRequestMetadata(ctx context.Context, uri ...string) (map[string]string, error) {
	return map[string]string{"authorization": "Bearer " + t.token}, nil
}

// RequireTransportSecurity implements credentials.PerRPCCredentials: true unless the token
// was made to allow plaintext.
func (t BearerToken) RequireTransportSecurity() bool { return !t.plaintext }

// TLSCredentials are transport credentials for a ctmd serving TLS: trusting the PEM CA in
// caFile (the system's CAs when it is ""), presenting the client certificate certFile with
// keyFile when both are set (mTLS), checking the server's certificate against serverName when
// it is set (else the address's host).
func TLSCredentials(caFile, certFile, keyFile, serverName string) (credentials.TransportCredentials, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: serverName}
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, fmt.Errorf("ctm: CA file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("ctm: CA file %s: no PEM certificate", caFile)
		}
		cfg.RootCAs = pool
	}
	if (certFile == "") != (keyFile == "") {
		return nil, errors.New("ctm: a client certificate needs both CertFile and KeyFile")
	}
	if certFile != "" {
		cert, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			return nil, fmt.Errorf("ctm: client certificate: %w", err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return credentials.NewTLS(cfg), nil
}
