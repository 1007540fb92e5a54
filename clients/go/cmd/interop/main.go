// Command interop is the Go side of the interop tests (test/interop/*.test.ts): it talks to a
// real ctmd with the generated stubs and prints JSON. It exits 1, with the reason on stderr,
// when a check fails.
//
//	interop get-units -addr A -key K -units '["u1", ...]'
//	interop all-rpcs -addr A -prefix P/
//	CTM_TOKEN=... interop auth -addr A -key K [-ca ca.pem] [-cert client.pem -cert-key client-key.pem]
//	interop cache -addr A -prefix P [-bootstrap F]   (then commands on stdin, see cache.go)
//	interop resume-rule                              (the codes and backoff a Watch resumes with)
//	interop eval-units -in FILE                      (local evaluation of entries for many contexts)
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"reflect"
	"sort"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"ctm.dev/clients/go/ctm"
	ctmv1 "ctm.dev/clients/go/ctm/v1"
)

var checks int

func check(cond bool, format string, args ...interface{}) {
	checks++
	if !cond {
		fmt.Fprintf(os.Stderr, "check failed: "+format+"\n", args...)
		os.Exit(1)
	}
}

func must(err error, what string) {
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", what, err)
		os.Exit(1)
	}
}

func emit(v interface{}) {
	enc := json.NewEncoder(os.Stdout)
	enc.SetEscapeHTML(false)
	must(enc.Encode(v), "encoding output")
}

func dial(addr string) (*grpc.ClientConn, ctmv1.ConfigServiceClient) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// Several comma-separated addresses are the replicas of one store, balanced round-robin.
	target, extra, err := ctm.Target(addr)
	must(err, "address "+addr)
	conn, err := grpc.DialContext(ctx, target, append([]grpc.DialOption{grpc.WithInsecure(), grpc.WithBlock()}, extra...)...)
	must(err, "dial "+addr)
	return conn, ctmv1.NewConfigServiceClient(conn)
}

func value(v interface{}) *structpb.Value {
	pv, err := structpb.NewValue(v)
	must(err, "value")
	return pv
}

func jsonOf(v *structpb.Value) interface{} {
	if v == nil {
		return nil
	}
	return v.AsInterface()
}

func u64(v uint64) *uint64 { return &v }

func reasonName(r ctmv1.Reason) string { return strings.TrimPrefix(r.String(), "REASON_") }

func ctx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), 30*time.Second)
}

// getUnits: Get with context.unit_id for every unit, next to what Go's own bucketing predicts
// from the plan carried by the entry.
func getUnits(args []string) {
	fs := flag.NewFlagSet("get-units", flag.ExitOnError)
	addr := fs.String("addr", "127.0.0.1:7411", "ctmd address")
	key := fs.String("key", "", "the key")
	unitsJSON := fs.String("units", "[]", "a JSON array of unit ids")
	percent := fs.Float64("percent", -1, "the rollout's current percentage, for the local prediction")
	must(fs.Parse(args), "flags")
	var units []string
	must(json.Unmarshal([]byte(*unitsJSON), &units), "-units")
	conn, c := dial(*addr)
	defer conn.Close()

	type answer struct {
		Unit          string      `json:"unit"`
		Value         interface{} `json:"value"`
		Variant       string      `json:"variant"`
		Reason        string      `json:"reason"`
		Revision      uint64      `json:"revision"`
		Version       uint64      `json:"version"`
		Bucket        int         `json:"bucket"`
		VariantBucket int         `json:"variant_bucket"`
		Predicted     string      `json:"predicted"`
	}
	out := []answer{}
	for _, u := range units {
		cx, cancel := ctx()
		r, err := c.Get(cx, &ctmv1.GetRequest{Key: *key, Context: &ctmv1.EvaluationContext{UnitId: u}})
		cancel()
		must(err, "Get "+u)
		a := answer{Unit: u, Value: jsonOf(r.Value), Variant: r.Variant, Reason: reasonName(r.Reason), Revision: r.Entry.Revision, Version: r.Entry.Version}
		if plan := r.Entry.GetRollout().GetPlan(); plan != nil && *percent >= 0 {
			salt := plan.Salt
			if salt == "" {
				salt = *key
			}
			vs := make([]ctm.Variant, len(plan.Variants))
			for i, v := range plan.Variants {
				vs[i] = ctm.Variant{Name: v.Name, Weight: float64(v.Weight)}
			}
			a.Bucket = ctm.Bucket(salt, u)
			a.VariantBucket = ctm.VariantBucket(salt, u)
			a.Predicted = "stable"
			if ctm.InPercentage(a.Bucket, *percent) {
				a.Predicted = "new"
				if i := ctm.PickVariant(salt, u, vs); i >= 0 {
					a.Predicted = vs[i].Name
				}
			}
		}
		out = append(out, a)
	}
	emit(out)
}

func code(err error) codes.Code { return status.Code(err) }

// allRPCs calls every ConfigService RPC at least once and checks the answers.
func allRPCs(args []string) {
	fs := flag.NewFlagSet("all-rpcs", flag.ExitOnError)
	addr := fs.String("addr", "127.0.0.1:7411", "ctmd address")
	p := fs.String("prefix", "go/", "a key prefix nobody else writes")
	must(fs.Parse(args), "flags")
	conn, c := dial(*addr)
	defer conn.Close()
	calls := map[string]bool{}
	cx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	svc := *p + "svc"

	// Set (with compare-and-set) and Get.
	v1 := map[string]interface{}{"timeout": 5.0, "retries": 2.0, "tags": []interface{}{"a"}}
	v2 := map[string]interface{}{"timeout": 9.0, "tags": []interface{}{"a", "b"}, "new": true}
	s1, err := c.Set(cx, &ctmv1.SetRequest{Key: svc, Value: value(v1), Author: "go", Message: "first", ExpectedVersion: u64(0)})
	must(err, "Set")
	calls["Set"] = true
	check(s1.Entry.Version == 1 && s1.Entry.Author == "go" && s1.Entry.Kind == ctmv1.RecordKind_RECORD_KIND_SET && s1.Entry.Cause == "api", "set: %v", s1.Entry)
	check(s1.Header.Revision == s1.Entry.Revision, "header revision %d != entry revision %d", s1.Header.Revision, s1.Entry.Revision)
	var trailer metadata.MD
	_, err = c.Set(cx, &ctmv1.SetRequest{Key: svc, Value: value(0.0), ExpectedVersion: u64(0)}, grpc.Trailer(&trailer))
	check(code(err) == codes.Aborted, "create-only set of an existing key: %v", err)
	check(reflect.DeepEqual(trailer.Get("ctm-actual"), []string{"1"}), "ctm-actual trailer: %v", trailer)
	s2, err := c.Set(cx, &ctmv1.SetRequest{Key: svc, Value: value(v2), Author: "go2", Message: "second", ExpectedVersion: u64(1)})
	must(err, "Set 2")
	check(s2.Entry.Version == 2 && s2.Entry.Revision == s1.Entry.Revision+1, "second set: %v", s2.Entry)
	g, err := c.Get(cx, &ctmv1.GetRequest{Key: svc})
	must(err, "Get")
	calls["Get"] = true
	check(reflect.DeepEqual(jsonOf(g.Value), v2) && g.Reason == ctmv1.Reason_REASON_STATIC && g.Entry.Version == 2, "get: %v", g)

	// History, Diff, Blame.
	h, err := c.History(cx, &ctmv1.HistoryRequest{Key: svc, Limit: 1})
	must(err, "History")
	calls["History"] = true
	check(len(h.Entries) == 1 && h.Entries[0].Version == 2 && h.NextPageToken != "", "history page 1: %v", h)
	h2, err := c.History(cx, &ctmv1.HistoryRequest{Key: svc, Limit: 1, PageToken: h.NextPageToken})
	must(err, "History 2")
	check(len(h2.Entries) == 1 && h2.Entries[0].Version == 1 && h2.NextPageToken == "", "history page 2: %v", h2)
	d, err := c.Diff(cx, &ctmv1.DiffRequest{Key: svc, FromVersion: 1, ToVersion: 2})
	must(err, "Diff")
	calls["Diff"] = true
	ops := []string{}
	for _, o := range d.Operations {
		b, _ := json.Marshal(jsonOf(o.Value))
		ops = append(ops, o.Op+" "+o.Path+" "+string(b))
	}
	sort.Strings(ops)
	check(reflect.DeepEqual(ops, []string{"add /new true", "add /tags/1 \"b\"", "remove /retries null", "replace /timeout 9"}), "diff: %q", ops)
	check(d.From.Version == 1 && d.To.Version == 2, "diff from/to")
	b, err := c.Blame(cx, &ctmv1.BlameRequest{Key: svc})
	must(err, "Blame")
	calls["Blame"] = true
	blame := map[string]string{}
	for _, l := range b.Lines {
		blame[l.Path] = fmt.Sprintf("%d %s", l.Version, l.Author)
	}
	check(reflect.DeepEqual(blame, map[string]string{"/timeout": "2 go2", "/tags/0": "1 go", "/tags/1": "2 go2", "/new": "2 go2"}), "blame: %v", blame)
	check(!b.Truncated, "blame: truncated")
	bt, err := c.Blame(cx, &ctmv1.BlameRequest{Key: svc, Path: "/tags"})
	must(err, "Blame path")
	check(len(bt.Lines) == 2 && bt.Lines[0].Path == "/tags/0" && bt.Lines[1].Path == "/tags/1" && bt.Lines[1].Version == 2, "blame path: %v", bt.Lines)

	// Rollback to the previous version, then to a given one.
	r, err := c.Rollback(cx, &ctmv1.RollbackRequest{Key: svc, Author: "oncall", Message: "bad"})
	must(err, "Rollback")
	calls["Rollback"] = true
	check(r.Entry.Version == 3 && r.Entry.Kind == ctmv1.RecordKind_RECORD_KIND_ROLLBACK && r.Entry.RolledBackTo == 1 && reflect.DeepEqual(jsonOf(r.Entry.Value), v1), "rollback: %v", r.Entry)
	r2, err := c.Rollback(cx, &ctmv1.RollbackRequest{Key: svc, ToVersion: u64(2)})
	must(err, "Rollback 2")
	check(r2.Entry.Version == 4 && r2.Entry.RolledBackTo == 2 && reflect.DeepEqual(jsonOf(r2.Entry.Value), v2), "rollback to 2: %v", r2.Entry)

	// Delete; Get is NOT_FOUND; GetAt by revision and by time still answer.
	time.Sleep(20 * time.Millisecond)
	mid := time.Now()
	time.Sleep(20 * time.Millisecond)
	de, err := c.Delete(cx, &ctmv1.DeleteRequest{Key: svc, Author: "go", Message: "retire"})
	must(err, "Delete")
	calls["Delete"] = true
	check(de.Entry.Deleted && de.Entry.Kind == ctmv1.RecordKind_RECORD_KIND_DELETE && de.Entry.Version == 5, "delete: %v", de.Entry)
	_, err = c.Get(cx, &ctmv1.GetRequest{Key: svc})
	check(code(err) == codes.NotFound, "get of a deleted key: %v", err)
	ga, err := c.GetAt(cx, &ctmv1.GetAtRequest{Key: svc, At: &ctmv1.GetAtRequest_Revision{Revision: s1.Entry.Revision}})
	must(err, "GetAt")
	calls["GetAt"] = true
	check(reflect.DeepEqual(jsonOf(ga.Value), v1) && ga.Entry.Version == 1 && ga.Revision == s1.Entry.Revision, "get_at revision: %v", ga)
	gt, err := c.GetAt(cx, &ctmv1.GetAtRequest{Key: svc, At: &ctmv1.GetAtRequest_Time{Time: timestamppb.New(mid)}})
	must(err, "GetAt time")
	check(reflect.DeepEqual(jsonOf(gt.Value), v2) && gt.Entry.Version == 4 && gt.Reason == ctmv1.Reason_REASON_ROLLED_BACK, "get_at time: %v", gt)

	// Apply, Snapshot, RollbackPrefix.
	fee, limit := *p+"pay/fee", *p+"pay/limit"
	base, err := c.Set(cx, &ctmv1.SetRequest{Key: fee, Value: value(1.0)})
	must(err, "Set fee")
	setOp := func(k string, v interface{}, ev *uint64) *ctmv1.ApplyOperation {
		return &ctmv1.ApplyOperation{Operation: &ctmv1.ApplyOperation_Set{Set: &ctmv1.SetOperation{Key: k, Value: value(v), ExpectedVersion: ev}}}
	}
	ap, err := c.Apply(cx, &ctmv1.ApplyRequest{Author: "batch", Message: "three", Operations: []*ctmv1.ApplyOperation{
		setOp(fee, 2.0, u64(1)),
		setOp(limit, 500.0, u64(0)),
		{Operation: &ctmv1.ApplyOperation_Delete{Delete: &ctmv1.DeleteOperation{Key: fee}}},
	}})
	must(err, "Apply")
	calls["Apply"] = true
	check(len(ap.Entries) == 3, "apply entries: %v", ap.Entries)
	got := []string{}
	for i, e := range ap.Entries {
		got = append(got, fmt.Sprintf("%s %d %v", e.Key, e.Version, e.Deleted))
		check(e.Revision == ap.Entries[0].Revision+uint64(i), "apply revisions are consecutive")
	}
	check(reflect.DeepEqual(got, []string{fee + " 2 false", limit + " 1 false", fee + " 3 true"}), "apply: %v", got)
	_, err = c.Apply(cx, &ctmv1.ApplyRequest{Operations: []*ctmv1.ApplyOperation{setOp(*p+"pay/zzz", 1.0, nil), setOp(limit, 3.0, u64(9))}})
	check(code(err) == codes.Aborted, "a failing apply: %v", err)
	// One key per page: every page of a listing reads the first page's revision.
	snap := func(req *ctmv1.SnapshotRequest) (map[string]interface{}, uint64) {
		req.PageSize = 1
		m := map[string]interface{}{}
		for {
			s, err := c.Snapshot(cx, req)
			must(err, "Snapshot")
			for _, e := range s.Entries {
				m[e.Key] = jsonOf(e.Value)
			}
			if s.NextPageToken == "" {
				return m, s.Revision
			}
			req = &ctmv1.SnapshotRequest{Prefix: req.Prefix, PageSize: 1, PageToken: s.NextPageToken}
		}
	}
	now, _ := snap(&ctmv1.SnapshotRequest{Prefix: *p + "pay/"})
	calls["Snapshot"] = true
	check(reflect.DeepEqual(now, map[string]interface{}{limit: 500.0}), "snapshot now: %v", now)
	then, at := snap(&ctmv1.SnapshotRequest{Prefix: *p + "pay/", At: &ctmv1.SnapshotRequest_Revision{Revision: base.Entry.Revision}})
	check(reflect.DeepEqual(then, map[string]interface{}{fee: 1.0}) && at == base.Entry.Revision, "snapshot at base: %v @%d", then, at)
	rp, err := c.RollbackPrefix(cx, &ctmv1.RollbackPrefixRequest{Prefix: *p + "pay/", To: &ctmv1.RollbackPrefixRequest_Revision{Revision: base.Entry.Revision}, Author: "oncall", Message: "undo"})
	must(err, "RollbackPrefix")
	calls["RollbackPrefix"] = true
	check(rp.Revision == base.Entry.Revision && len(rp.Entries) == 2, "rollback_prefix: %v", rp)
	check(rp.Entries[0].Key == fee && !rp.Entries[0].Deleted && reflect.DeepEqual(jsonOf(rp.Entries[0].Value), 1.0) && rp.Entries[0].Kind == ctmv1.RecordKind_RECORD_KIND_ROLLBACK, "rollback_prefix fee: %v", rp.Entries[0])
	check(rp.Entries[1].Key == limit && rp.Entries[1].Deleted, "rollback_prefix limit: %v", rp.Entries[1])
	after, _ := snap(&ctmv1.SnapshotRequest{Prefix: *p + "pay/"})
	check(reflect.DeepEqual(after, map[string]interface{}{fee: 1.0}), "after rollback_prefix: %v", after)
	lk, err := c.ListKeys(cx, &ctmv1.ListKeysRequest{Prefix: *p + "pay/"})
	must(err, "ListKeys")
	calls["ListKeys"] = true
	check(len(lk.Keys) == 1 && lk.Keys[0].Entry.Key == fee && !lk.Keys[0].Rolling && lk.NextPageToken == "", "list_keys: %v", lk)
	lc, err := c.ListChanges(cx, &ctmv1.ListChangesRequest{Prefix: *p + "pay/", Author: "oncall", Kinds: []ctmv1.RecordKind{ctmv1.RecordKind_RECORD_KIND_ROLLBACK}, Limit: 10})
	must(err, "ListChanges")
	calls["ListChanges"] = true
	check(len(lc.Entries) == 2 && lc.Entries[0].Key == limit && lc.Entries[1].Key == fee && lc.Entries[0].Kind == ctmv1.RecordKind_RECORD_KIND_ROLLBACK, "list_changes: %v", lc.Entries)

	// Watch replays everything under the prefix from the first revision, in order.
	want := []uint64{s1.Entry.Revision, s2.Entry.Revision, r.Entry.Revision, r2.Entry.Revision, de.Entry.Revision, base.Entry.Revision}
	for _, e := range ap.Entries {
		want = append(want, e.Revision)
	}
	for _, e := range rp.Entries {
		want = append(want, e.Revision)
	}
	wctx, wcancel := context.WithTimeout(cx, 10*time.Second)
	stream, err := c.Watch(wctx, &ctmv1.WatchRequest{Key: *p, Prefix: true, StartRevision: s1.Entry.Revision})
	must(err, "Watch")
	calls["Watch"] = true
	seen := []uint64{}
	created := false
	for len(seen) < len(want) {
		resp, err := stream.Recv()
		if err == io.EOF {
			break
		}
		must(err, "Watch recv")
		switch resp.Status {
		case ctmv1.WatchStatus_WATCH_STATUS_CREATED:
			created = true
		case ctmv1.WatchStatus_WATCH_STATUS_EVENTS:
			for _, e := range resp.Events {
				seen = append(seen, e.Revision)
			}
		}
	}
	wcancel()
	check(created, "the watch opened with CREATED")
	check(reflect.DeepEqual(seen, want), "watch replay: %v != %v", seen, want)

	names := []string{}
	for n := range calls {
		names = append(names, n)
	}
	sort.Strings(names)
	emit(map[string]interface{}{"language": "go", "calls": names, "checks": checks, "last_revision": rp.Entries[len(rp.Entries)-1].Revision})
}

// resumeRule prints the Go client's Watch resume rule, for the test that holds every client to one.
func resumeRule() {
	names := []string{}
	for c := range ctm.ResumableCodes {
		names = append(names, strings.ToUpper(strings.ReplaceAll(codeName(c), " ", "_")))
	}
	sort.Strings(names)
	b := ctm.DefaultWatchBackoff
	emit(map[string]interface{}{"codes": names, "initialMs": b.Initial.Milliseconds(), "maxMs": b.Max.Milliseconds(), "multiplier": b.Multiplier, "jitter": b.Jitter})
}

// codeName is the canonical gRPC name of a code (codes.Canceled prints as "Canceled").
func codeName(c codes.Code) string {
	if c == codes.Canceled {
		return "CANCELLED"
	}
	var out []rune
	for i, r := range c.String() {
		if i > 0 && r >= 'A' && r <= 'Z' {
			out = append(out, '_')
		}
		out = append(out, r)
	}
	return string(out)
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: interop get-units|all-rpcs|auth|cache [flags]")
		os.Exit(2)
	}
	switch os.Args[1] {
	case "get-units":
		getUnits(os.Args[2:])
	case "all-rpcs":
		allRPCs(os.Args[2:])
	case "auth":
		authCheck(os.Args[2:])
	case "cache":
		cacheCmd(os.Args[2:])
	case "resume-rule":
		resumeRule()
	case "eval-units":
		evalUnits(os.Args[2:])
	case "eval-bench":
		evalBench(os.Args[2:])
	case "retry-attempts":
		retryAttempts(os.Args[2:])
	case "retry-safe":
		retrySafe(os.Args[2:])
	default:
		fmt.Fprintf(os.Stderr, "unknown command %q\n", os.Args[1])
		os.Exit(2)
	}
}
