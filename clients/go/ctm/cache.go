package ctm

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	ctmv1 "ctm.dev/clients/go/ctm/v1"
	"google.golang.org/protobuf/types/known/structpb"
)

// CacheOptions say what a Cache follows.
type CacheOptions struct {
	// Prefix caches every key under it ("" caches everything).
	Prefix string
	// Keys caches exactly these keys instead (one prefix watch on their common prefix, filtered).
	Keys []string
	// BootstrapFile is a snapshot file (see SaveSnapshot) served until the daemon answers. A
	// missing file is not an error (a first start); an unreadable one goes to OnError.
	BootstrapFile string
	// OnChange is called with every key that changed: its new entry, a tombstone for a
	// delete, or nil when a re-seed found it gone. Calls come from the cache's goroutine.
	OnChange func(key string, entry *ctmv1.Entry)
	// OnState is called when the watch connects or breaks, or the source changes.
	OnState func(connected bool, source string, err error)
	// OnError is called with sync errors; the cache keeps retrying on its own.
	OnError func(err error)
	// Clock gives the time rollouts are evaluated at (default time.Now).
	Clock func() time.Time
}

// Sources of a cache's data.
const (
	SourceNone      = "none"
	SourceBootstrap = "bootstrap"
	SourceDaemon    = "daemon"
)

// Cache is a local copy of a prefix (or a set of keys): seeded by Snapshot, then kept fresh by
// a Watch from the snapshot's revision + 1 that resumes across disconnects. Reads are local:
// Get evaluates rollouts in process, as the daemon does, and costs no RPC. While the daemon is
// unreachable it serves the last values it had (or the bootstrap file's) and keeps trying;
// when a watch cannot resume (the store was replaced, or compacted past the cache's revision)
// it re-seeds from a fresh Snapshot. Safe for concurrent use.
type Cache struct {
	client ctmv1.ConfigServiceClient
	opts   CacheOptions
	prefix string
	keySet map[string]bool

	mu        sync.RWMutex
	flags     map[string]*Flag
	revision  uint64
	source    string
	connected bool
	lastErr   error
	ready     chan struct{}

	cancel context.CancelFunc
	done   chan struct{}
}

// NewCache starts following the daemon in the background; see Ready.
func NewCache(client ctmv1.ConfigServiceClient, opts CacheOptions) (*Cache, error) {
	c := &Cache{client: client, opts: opts, flags: map[string]*Flag{}, source: SourceNone, ready: make(chan struct{}), done: make(chan struct{})}
	if len(opts.Keys) > 0 {
		if opts.Prefix != "" {
			return nil, errors.New("cache: give Prefix or Keys, not both")
		}
		c.keySet = map[string]bool{}
		for _, k := range opts.Keys {
			c.keySet[k] = true
		}
		c.prefix = commonPrefix(opts.Keys)
	} else {
		c.prefix = opts.Prefix
	}
	if c.opts.Clock == nil {
		c.opts.Clock = time.Now
	}
	ctx, cancel := context.WithCancel(context.Background())
	c.cancel = cancel
	go c.run(ctx)
	return c, nil
}

// Ready waits until the cache holds data (from the bootstrap file or the daemon).
func (c *Cache) Ready(ctx context.Context) error {
	select {
	case <-c.ready:
		return nil
	case <-ctx.Done():
		if err := c.LastError(); err != nil {
			return fmt.Errorf("%w (last sync error: %v)", ctx.Err(), err)
		}
		return ctx.Err()
	}
}

// Get resolves key for the context at the cache's clock; ok is false for an absent key.
func (c *Cache) Get(key string, ec EvalContext) (Evaluation, bool) {
	c.mu.RLock()
	f := c.flags[key]
	c.mu.RUnlock()
	if f == nil {
		return Evaluation{}, false
	}
	return f.Evaluate(ec, c.opts.Clock()), true
}

// Value is the resolved value as plain Go (structpb's AsInterface), or fallback for an absent key.
func (c *Cache) Value(key string, ec EvalContext, fallback interface{}) interface{} {
	r, ok := c.Get(key, ec)
	if !ok || r.Value == nil {
		return fallback
	}
	return r.Value.AsInterface()
}

// IsOn says whether the flag resolves truthy for the unit (false for an absent key): true,
// non-zero numbers, non-empty strings, lists and structs are on, as in the other SDKs.
func (c *Cache) IsOn(key string, ec EvalContext) bool {
	r, ok := c.Get(key, ec)
	return ok && truthy(r.Value)
}

// Entry is the raw entry of a live key.
func (c *Cache) Entry(key string) *ctmv1.Entry {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if f := c.flags[key]; f != nil {
		return f.Entry()
	}
	return nil
}

// Keys lists the live keys, sorted.
func (c *Cache) Keys() []string {
	c.mu.RLock()
	out := make([]string, 0, len(c.flags))
	for k := range c.flags {
		out = append(out, k)
	}
	c.mu.RUnlock()
	sort.Strings(out)
	return out
}

// Revision is the revision the cache reflects.
func (c *Cache) Revision() uint64 { c.mu.RLock(); defer c.mu.RUnlock(); return c.revision }

// Source is where the data comes from: SourceNone, SourceBootstrap or SourceDaemon.
func (c *Cache) Source() string { c.mu.RLock(); defer c.mu.RUnlock(); return c.source }

// Connected says whether a watch stream is established now.
func (c *Cache) Connected() bool { c.mu.RLock(); defer c.mu.RUnlock(); return c.connected }

// LastError is the last sync error (the cache retries on its own).
func (c *Cache) LastError() error { c.mu.RLock(); defer c.mu.RUnlock(); return c.lastErr }

// SaveSnapshot writes what the cache holds now as a bootstrap file; it works while the daemon is down.
func (c *Cache) SaveSnapshot(path string) error {
	c.mu.RLock()
	data := SnapshotData{Revision: c.revision}
	for _, f := range c.flags {
		data.Entries = append(data.Entries, f.Entry())
	}
	c.mu.RUnlock()
	sort.Slice(data.Entries, func(i, j int) bool { return data.Entries[i].GetKey() < data.Entries[j].GetKey() })
	return WriteSnapshotFile(path, data)
}

// Close stops following the daemon and waits for the cache's goroutine to end.
func (c *Cache) Close() {
	c.cancel()
	<-c.done
}

func (c *Cache) run(ctx context.Context) {
	defer close(c.done)
	if f := c.opts.BootstrapFile; f != "" {
		snap, err := ReadSnapshotFile(f)
		switch {
		case err == nil:
			c.replace(snap.Entries, snap.Revision, SourceBootstrap)
		case !errors.Is(err, os.ErrNotExist):
			c.report(err)
		}
	}
	for attempt := 0; ctx.Err() == nil; {
		entries, revision, err := c.snapshot(ctx)
		if err == nil {
			c.replace(entries, revision, SourceDaemon)
			attempt = 0
			err = Watch(ctx, c.client, c.prefix, WatchOptions{
				Prefix:        true,
				StartRevision: revision + 1,
				OnState:       func(connected bool, err error) { c.setConnected(connected, err) },
			}, func(e *ctmv1.Entry) error { c.apply(e); return nil })
		}
		if ctx.Err() != nil {
			return
		}
		// The watch gave up (a replaced store, a compacted revision) or the snapshot failed:
		// keep serving what is held, and re-seed after a pause.
		c.setConnected(false, err)
		c.report(err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(DefaultWatchBackoff.Delay(attempt)):
		}
		attempt++
	}
}

// snapshot reads every page of the prefix at one revision.
func (c *Cache) snapshot(ctx context.Context) ([]*ctmv1.Entry, uint64, error) {
	var entries []*ctmv1.Entry
	var revision uint64
	token := ""
	for {
		callCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
		res, err := c.client.Snapshot(callCtx, &ctmv1.SnapshotRequest{Prefix: c.prefix, PageToken: token})
		cancel()
		if err != nil {
			return nil, 0, err
		}
		entries = append(entries, res.GetEntries()...)
		if revision == 0 {
			revision = res.GetRevision()
		}
		token = res.GetNextPageToken()
		if token == "" {
			return entries, revision, nil
		}
	}
}

func (c *Cache) wants(key string) bool {
	if c.keySet != nil {
		return c.keySet[key]
	}
	return strings.HasPrefix(key, c.prefix)
}

func (c *Cache) replace(entries []*ctmv1.Entry, revision uint64, source string) {
	next := map[string]*Flag{}
	for _, e := range entries {
		if e.GetDeleted() || !c.wants(e.GetKey()) {
			continue
		}
		f, err := NewFlag(e)
		if err != nil {
			c.report(err)
			continue
		}
		next[e.GetKey()] = f
	}
	c.mu.Lock()
	var changed []string
	for k, f := range next {
		if old := c.flags[k]; old == nil || old.Entry().GetRevision() != f.Entry().GetRevision() {
			changed = append(changed, k)
		}
	}
	var gone []string
	for k := range c.flags {
		if next[k] == nil {
			gone = append(gone, k)
		}
	}
	c.flags = next
	c.revision = revision
	sourceChanged := c.source != source
	wasEmpty := c.source == SourceNone
	c.source = source
	connected, lastErr := c.connected, c.lastErr
	c.mu.Unlock()
	if wasEmpty {
		close(c.ready)
	}
	sort.Strings(changed)
	for _, k := range changed {
		c.emitChange(k, next[k].Entry())
	}
	for _, k := range gone {
		c.emitChange(k, nil)
	}
	if sourceChanged && c.opts.OnState != nil {
		c.opts.OnState(connected, source, lastErr)
	}
}

func (c *Cache) apply(e *ctmv1.Entry) {
	c.mu.Lock()
	if e.GetRevision() <= c.revision {
		c.mu.Unlock()
		return
	}
	c.revision = e.GetRevision()
	if !c.wants(e.GetKey()) {
		c.mu.Unlock()
		return
	}
	if e.GetDeleted() {
		delete(c.flags, e.GetKey())
	} else if f, err := NewFlag(e); err == nil {
		c.flags[e.GetKey()] = f
	} else {
		c.mu.Unlock()
		c.report(err)
		return
	}
	c.mu.Unlock()
	c.emitChange(e.GetKey(), e)
}

func (c *Cache) setConnected(connected bool, err error) {
	c.mu.Lock()
	if err != nil {
		c.lastErr = err
	}
	changed := c.connected != connected
	c.connected = connected
	source := c.source
	c.mu.Unlock()
	if changed && c.opts.OnState != nil {
		c.opts.OnState(connected, source, err)
	}
}

func (c *Cache) report(err error) {
	c.mu.Lock()
	c.lastErr = err
	c.mu.Unlock()
	if c.opts.OnError != nil {
		c.opts.OnError(err)
	}
}

func (c *Cache) emitChange(key string, e *ctmv1.Entry) {
	if c.opts.OnChange != nil {
		c.opts.OnChange(key, e)
	}
}

// truthy is JavaScript's truthiness of a JSON value, as every SDK reads a flag.
func truthy(v *structpb.Value) bool {
	switch k := v.GetKind().(type) {
	case *structpb.Value_BoolValue:
		return k.BoolValue
	case *structpb.Value_NumberValue:
		return k.NumberValue != 0 && k.NumberValue == k.NumberValue
	case *structpb.Value_StringValue:
		return k.StringValue != ""
	case *structpb.Value_ListValue, *structpb.Value_StructValue:
		return true
	}
	return false
}

func commonPrefix(keys []string) string {
	if len(keys) == 0 {
		return ""
	}
	p := keys[0]
	for _, k := range keys[1:] {
		i := 0
		for i < len(p) && i < len(k) && p[i] == k[i] {
			i++
		}
		p = p[:i]
	}
	// A byte prefix may end inside a character; a watch key must be valid UTF-8.
	for !utf8.ValidString(p) {
		p = p[:len(p)-1]
	}
	return p
}
