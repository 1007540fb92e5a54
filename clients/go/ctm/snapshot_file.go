package ctm

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	ctmv1 "ctm.dev/clients/go/ctm/v1"
	"google.golang.org/protobuf/encoding/protojson"
)

// SnapshotData is what a bootstrap file holds: entries and the revision they reflect.
type SnapshotData struct {
	Revision uint64
	Entries  []*ctmv1.Entry
}

// WriteSnapshotFile writes a snapshot as the proto3 JSON of a SnapshotResponse (the format the
// TypeScript and Python SDKs read and write), atomically: a reader never sees half a file.
func WriteSnapshotFile(path string, data SnapshotData) error {
	res := &ctmv1.SnapshotResponse{Header: &ctmv1.ResponseHeader{Revision: data.Revision}, Revision: data.Revision, Entries: data.Entries}
	b, err := protojson.MarshalOptions{Multiline: true, Indent: "  "}.Marshal(res)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// ReadSnapshotFile reads a bootstrap file: a SnapshotResponse in proto3 JSON, or a bare JSON
// array of its entries. Every entry needs a key and a positive revision.
func ReadSnapshotFile(path string) (SnapshotData, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return SnapshotData{}, err
	}
	var entries []json.RawMessage
	var res ctmv1.SnapshotResponse
	if json.Unmarshal(raw, &entries) == nil {
		for i, e := range entries {
			var entry ctmv1.Entry
			if err := protojson.Unmarshal(e, &entry); err != nil {
				return SnapshotData{}, fmt.Errorf("%s: entries[%d]: %w", path, i, err)
			}
			res.Entries = append(res.Entries, &entry)
		}
	} else if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(raw, &res); err != nil {
		return SnapshotData{}, fmt.Errorf("%s: not a ctm snapshot (a Snapshot response, or an array of entries): %w", path, err)
	}
	out := SnapshotData{Revision: res.GetRevision(), Entries: res.GetEntries()}
	if out.Revision == 0 {
		out.Revision = res.GetHeader().GetRevision()
	}
	var newest uint64
	for i, e := range out.Entries {
		if e.GetKey() == "" || e.GetRevision() == 0 {
			return SnapshotData{}, fmt.Errorf("%s: entries[%d]: an entry needs a key and a positive revision", path, i)
		}
		if e.GetRevision() > newest {
			newest = e.GetRevision()
		}
	}
	// A bare list of entries reflects at least its newest one.
	if out.Revision == 0 {
		out.Revision = newest
	}
	return out, nil
}
