package main

// interop cache: a ctm.Cache on a prefix, driven over stdin, reporting on stdout as JSON lines.
//
//	{"type":"state","connected":..,"source":..,"revision":..}   when the connection or source changes
//	{"type":"change","key":..,"revision":..,"deleted":..}       for every change the cache takes
//	stdin "eval KEY UNITS_JSON"  -> {"type":"eval","key":..,"revision":..,"results":[{"unit","value","variant","reason"}]}
//	stdin "save PATH"            -> {"type":"saved","path":..}
//	stdin "quit"                 -> exits 0

import (
	"bufio"
	"encoding/json"
	"flag"
	"os"
	"strings"
	"sync"

	"google.golang.org/grpc"

	"ctm.dev/clients/go/ctm"
	ctmv1 "ctm.dev/clients/go/ctm/v1"
)

func cacheCmd(args []string) {
	fs := flag.NewFlagSet("cache", flag.ExitOnError)
	addr := fs.String("addr", "", "ctmd address")
	prefix := fs.String("prefix", "", "prefix to cache")
	bootstrap := fs.String("bootstrap", "", "bootstrap snapshot file")
	must(fs.Parse(args), "flags")
	// No blocking dial: the cache must start, and serve a bootstrap file, with ctmd down.
	conn, err := grpc.Dial(*addr, grpc.WithInsecure())
	must(err, "dial")
	defer conn.Close()
	var out sync.Mutex
	say := func(v map[string]interface{}) {
		out.Lock()
		defer out.Unlock()
		emit(v)
	}
	var cache *ctm.Cache
	cache, err = ctm.NewCache(ctmv1.NewConfigServiceClient(conn), ctm.CacheOptions{
		Prefix:        *prefix,
		BootstrapFile: *bootstrap,
		OnChange: func(key string, e *ctmv1.Entry) {
			say(map[string]interface{}{"type": "change", "key": key, "revision": e.GetRevision(), "deleted": e == nil || e.GetDeleted()})
		},
		OnState: func(connected bool, source string, err error) {
			say(map[string]interface{}{"type": "state", "connected": connected, "source": source, "revision": cache.Revision()})
		},
	})
	must(err, "cache")
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 1<<24)
	for in.Scan() {
		fields := strings.SplitN(in.Text(), " ", 3)
		switch fields[0] {
		case "eval":
			var units []string
			must(json.Unmarshal([]byte(fields[2]), &units), "units")
			results := make([]map[string]interface{}, 0, len(units))
			for _, u := range units {
				r, ok := cache.Get(fields[1], ctm.EvalContext{UnitID: u})
				if !ok {
					results = append(results, map[string]interface{}{"unit": u, "missing": true})
					continue
				}
				results = append(results, map[string]interface{}{"unit": u, "value": r.Value.AsInterface(), "variant": r.Variant, "reason": r.Reason})
			}
			say(map[string]interface{}{"type": "eval", "key": fields[1], "revision": cache.Revision(), "source": cache.Source(), "connected": cache.Connected(), "results": results})
		case "save":
			must(cache.SaveSnapshot(fields[1]), "save")
			say(map[string]interface{}{"type": "saved", "path": fields[1]})
		case "quit":
			cache.Close()
			return
		}
	}
	cache.Close()
}
