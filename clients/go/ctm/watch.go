package ctm

import (
	"context"
	"errors"
	"fmt"
	"time"

	ctmv1 "ctm.dev/clients/go/ctm/v1"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// WatchOptions say what to watch and how to reconnect.
type WatchOptions struct {
	// Prefix watches every key under the key ("" with Prefix: everything).
	Prefix bool
	// StartRevision is the first revision to deliver; 0 means changes from now on.
	StartRevision uint64
	// Backoff between reconnections (zero: DefaultWatchBackoff).
	Backoff Backoff
	// IdleTimeout reopens a stream that delivers nothing, not even the daemon's PROGRESS
	// heartbeat (every 10 s by default), for this long. 0: 30 s; negative: never.
	IdleTimeout time.Duration
	// OnState is told when a stream is established and when it breaks.
	OnState func(connected bool, err error)
}

// ResumableCodes are the codes after which a broken stream is reopened from the last revision + 1;
// any other code ends the watch with that error.
var ResumableCodes = map[codes.Code]bool{
	codes.Unavailable: true, codes.Canceled: true, codes.DeadlineExceeded: true,
	codes.ResourceExhausted: true, codes.Aborted: true, codes.Internal: true, codes.Unknown: true,
}

// ErrHeadWentBack is returned (wrapped in a DATA_LOSS status) when the daemon's head revision is
// behind a revision this watch already saw: its store was replaced, and resuming would skip.
var ErrHeadWentBack = errors.New("the daemon's head revision went backwards")

// Watch calls fn with every entry of key (or under it) in revision order, and survives daemon
// restarts: when a stream breaks it reopens one from the last revision delivered + 1 (or after
// a heartbeat, from its revision + 1), with backoff, until ctx ends (it then returns ctx's
// error), fn returns an error (returned as is), or the daemon answers a code resuming cannot
// fix (OUT_OF_RANGE below the compaction horizon, INVALID_ARGUMENT, PERMISSION_DENIED...).
// Nothing is delivered twice and nothing is skipped.
func Watch(ctx context.Context, client ctmv1.ConfigServiceClient, key string, opts WatchOptions, fn func(*ctmv1.Entry) error) error {
	backoff := opts.Backoff
	if backoff.Initial == 0 {
		backoff = DefaultWatchBackoff
	}
	idle := opts.IdleTimeout
	if idle == 0 {
		idle = 30 * time.Second
	}
	resume := opts.StartRevision
	var highest uint64
	connected := false
	setState := func(c bool, err error) {
		if c != connected {
			connected = c
			if opts.OnState != nil {
				opts.OnState(c, err)
			}
		}
	}
	for attempt := 0; ; {
		err := watchOnce(ctx, client, key, opts.Prefix, idle, &resume, &highest, func() { attempt = 0; setState(true, nil) }, fn)
		if ctx.Err() != nil {
			setState(false, ctx.Err())
			return ctx.Err()
		}
		var stop *stopError
		if errors.As(err, &stop) {
			setState(false, stop.err)
			return stop.err
		}
		if err != nil && !ResumableCodes[status.Code(err)] {
			setState(false, err)
			return err
		}
		setState(false, err)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(backoff.Delay(attempt)):
		}
		attempt++
	}
}

// stopError carries fn's own error out, so that it is never taken for a stream's.
type stopError struct{ err error }

func (s *stopError) Error() string { return s.err.Error() }

func watchOnce(parent context.Context, client ctmv1.ConfigServiceClient, key string, prefix bool, idle time.Duration, resume, highest *uint64, established func(), fn func(*ctmv1.Entry) error) error {
	ctx, cancel := context.WithCancel(parent)
	defer cancel()
	stream, err := client.Watch(ctx, &ctmv1.WatchRequest{Key: key, Prefix: prefix, StartRevision: *resume})
	if err != nil {
		return err
	}
	var timer *time.Timer
	if idle > 0 {
		// A stream that stays silent past the heartbeat is dead: cancel it, and resume.
		timer = time.AfterFunc(idle, cancel)
		defer timer.Stop()
	}
	for {
		res, err := stream.Recv()
		if err != nil {
			return err
		}
		if timer != nil {
			timer.Reset(idle)
		}
		head := res.GetHeader().GetRevision()
		switch res.GetStatus() {
		case ctmv1.WatchStatus_WATCH_STATUS_CREATED:
			if head < *highest {
				return &stopError{status.Error(codes.DataLoss, fmt.Sprintf("%v: %d is behind revision %d, already seen", ErrHeadWentBack, head, *highest))}
			}
			*highest = head
			if *resume == 0 {
				*resume = head + 1
			}
			established()
			continue
		case ctmv1.WatchStatus_WATCH_STATUS_PROGRESS:
			// Every matching event up to the heartbeat's revision has been sent.
			if head > *highest {
				*highest = head
			}
			if *resume > 0 && head+1 > *resume {
				*resume = head + 1
			}
			continue
		}
		for _, e := range res.GetEvents() {
			if e.GetRevision() < *resume {
				continue // never deliver a revision twice
			}
			*resume = e.GetRevision() + 1
			if e.GetRevision() > *highest {
				*highest = e.GetRevision()
			}
			if err := fn(e); err != nil {
				return &stopError{err}
			}
		}
	}
}
