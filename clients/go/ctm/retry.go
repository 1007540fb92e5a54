package ctm

import (
	"context"
	"strings"
	"time"

	ctmv1 "ctm.dev/clients/go/ctm/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// DefaultRetry is how a unary call that failed with UNAVAILABLE is retried where that is safe
// (see IsRetrySafe): 5 attempts in all within the call's deadline, 100 ms doubling to 2 s between
// them, half of each delay random. The TypeScript SDK, the Python client and the CLI use the same.
var DefaultRetry = struct {
	Attempts int
	Backoff  Backoff
}{Attempts: 5, Backoff: Backoff{Initial: 100 * time.Millisecond, Max: 2 * time.Second, Multiplier: 2, Jitter: 0.5}}

var retryReads = map[string]bool{
	"ConfigService/Get": true, "ConfigService/GetAt": true, "ConfigService/History": true, "ConfigService/Diff": true,
	"ConfigService/Blame": true, "ConfigService/Snapshot": true,
	"RolloutService/Status": true, "RolloutService/Explain": true,
	"ValidatorService/ListValidators": true, "ValidatorService/Validate": true,
	"HealthCheckService/ListHealthChecks": true, "AccessLogService/QueryAccessLog": true,
	"ConfigService/ListKeys": true, "ConfigService/ListChanges": true,
	"AccessLogService/SummarizeAccessLog": true, "HealthCheckService/GetHealthHistory": true,
	"AdminService/GetVerification": true, "AdminService/GetRetention": true, "AdminService/ListStaleKeys": true,
	"AuthService/ListTokens": true, "AuthService/ListRoles": true, "AuthService/WhoAmI": true, "AuthService/CheckAccess": true,
	"ChangeRequestService/GetChangeRequest": true, "ChangeRequestService/ListChangeRequests": true,
}

var retryNever = map[string]bool{
	"ConfigService/RollbackPrefix": true, "ValidatorService/DeleteValidator": true, "HealthCheckService/DeleteHealthCheck": true,
	"HealthCheckService/ReportMetrics": true, "AccessLogService/UploadAccessLog": true,
}

// guarded says whether a request carries expected_version (compare-and-set).
func guarded(m proto.Message) bool {
	f := m.ProtoReflect().Descriptor().Fields().ByName("expected_version")
	return f != nil && m.ProtoReflect().Has(f)
}

// IsRetrySafe says whether retrying method (a full gRPC path, "/ctm.v1.ConfigService/Set") after
// UNAVAILABLE cannot apply it twice: reads always; writes only with expected_version (Apply when
// every operation has one), since a retry of a write that did land then fails with ABORTED; never
// RollbackPrefix, the deletes of validators and health checks, ReportMetrics or UploadAccessLog.
func IsRetrySafe(method string, req interface{}) bool {
	parts := strings.Split(strings.Trim(method, "/"), "/")
	if len(parts) != 2 {
		return false
	}
	svc := parts[0][strings.LastIndex(parts[0], ".")+1:]
	name := svc + "/" + parts[1]
	switch {
	case retryReads[name]:
		return true
	case retryNever[name]:
		return false
	}
	if apply, ok := req.(*ctmv1.ApplyRequest); ok && name == "ConfigService/Apply" {
		for _, op := range apply.GetOperations() {
			var m proto.Message
			if s := op.GetSet(); s != nil {
				m = s
			} else if d := op.GetDelete(); d != nil {
				m = d
			}
			if m == nil || !guarded(m) {
				return false
			}
		}
		return len(apply.GetOperations()) > 0
	}
	m, ok := req.(proto.Message)
	return ok && guarded(m)
}

// RetryInterceptor retries unary calls by DefaultRetry where IsRetrySafe; DialOptions includes it.
func RetryInterceptor() grpc.UnaryClientInterceptor {
	return func(ctx context.Context, method string, req, reply interface{}, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		retry := IsRetrySafe(method, req)
		for attempt := 1; ; attempt++ {
			err := invoker(ctx, method, req, reply, cc, opts...)
			if err == nil || !retry || status.Code(err) != codes.Unavailable || attempt >= DefaultRetry.Attempts {
				return err
			}
			delay := DefaultRetry.Backoff.Delay(attempt - 1)
			if deadline, ok := ctx.Deadline(); ok && time.Now().Add(delay).After(deadline) {
				return err
			}
			select {
			case <-ctx.Done():
				return err
			case <-time.After(delay):
			}
		}
	}
}
