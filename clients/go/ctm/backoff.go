package ctm

import (
	"math"
	"math/rand"
	"time"
)

// Backoff is how long to wait before a retry: min(Max, Initial * Multiplier^attempt), of which
// the share Jitter is random (0.5: a delay falls in [base/2, base]). The TypeScript SDK, the
// Python client and the CLI use the same rule and the same defaults.
type Backoff struct {
	Initial    time.Duration
	Max        time.Duration
	Multiplier float64
	Jitter     float64
}

// DefaultWatchBackoff is how a Watch and a Cache reconnect: 100 ms doubling up to 5 s, half jittered.
var DefaultWatchBackoff = Backoff{Initial: 100 * time.Millisecond, Max: 5 * time.Second, Multiplier: 2, Jitter: 0.5}

// Delay is the wait before retry number attempt (0-based).
func (b Backoff) Delay(attempt int) time.Duration {
	base := math.Min(float64(b.Max), float64(b.Initial)*math.Pow(b.Multiplier, float64(attempt)))
	j := math.Min(1, math.Max(0, b.Jitter))
	return time.Duration(base*(1-j) + base*j*rand.Float64())
}
