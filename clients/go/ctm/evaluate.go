package ctm

// Local evaluation: what ctmd serves a unit from an Entry at a moment, computed in process.
// It follows the daemon's src/domain/rollout (evaluate.ts, schedule.ts, compiled-plan.ts)
// step for step, and test/vectors/evaluation.json, generated from that code, pins it.

import (
	"fmt"
	"math"
	"regexp"
	"time"

	ctmv1 "ctm.dev/clients/go/ctm/v1"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// Reasons, as the daemon names them (ctm.v1.Reason REASON_IN_ROLLOUT is "in_rollout").
const (
	ReasonStatic          = "static"
	ReasonEarlyAdopter    = "early_adopter"
	ReasonPinned          = "pinned"
	ReasonRuleMatch       = "rule_match"
	ReasonInRollout       = "in_rollout"
	ReasonOutOfRollout    = "out_of_rollout"
	ReasonScheduledNotYet = "scheduled_not_yet"
	ReasonRingNotReached  = "ring_not_reached"
	ReasonVariant         = "variant"
	ReasonRolledBack      = "rolled_back"
)

// Variant names a unit can be served besides a plan's own variants; "" means a static value.
const (
	VariantStable = "stable"
	VariantNew    = "new"
)

// EvalContext is who asks: the unit that is bucketed, its environment (for rings) and its
// attributes (for attribute rules).
type EvalContext struct {
	UnitID      string
	Environment string
	Attributes  map[string]string
}

// Evaluation is what a unit is served, which variant that is, and why.
type Evaluation struct {
	Value   *structpb.Value
	Variant string
	Reason  string
}

// Flag is an Entry made ready to evaluate: its plan's regexes and versions are compiled once.
// It is immutable and safe for concurrent use.
type Flag struct {
	entry *ctmv1.Entry
	plan  *plan
}

type rule struct {
	byUnit bool
	test   func(unit string, attrs map[string]string) bool
}

type plan struct {
	stable       *structpb.Value
	salt         string
	earlyAdopter map[string]bool
	pinned       map[string]string
	rules        []rule
	rings        []string
	ringInterval int64
	hasRings     bool
	steps        *ctmv1.Steps
	stepInterval int64
	ramp         bool
	rampFrom     float64
	rampTo       float64
	rampStart    int64
	rampEnd      int64
	activateAt   *int64
	variants     []*ctmv1.Variant
	weights      []Variant
	interpolate  bool

	startedAt     int64
	pausedAt      *int64
	shiftMs       int64
	promotedRings int64
	killed        bool
}

// NewFlag compiles an Entry's rollout, if it has one. It fails only on a plan the daemon would
// never have stored (a bad regex, a semver rule whose operand is not a version).
func NewFlag(e *ctmv1.Entry) (*Flag, error) {
	f := &Flag{entry: e}
	if e.GetRollout() == nil || e.GetRollout().GetPlan() == nil {
		return f, nil
	}
	p, err := compilePlan(e.GetRollout())
	if err != nil {
		return nil, fmt.Errorf("%s: %w", e.GetKey(), err)
	}
	f.plan = p
	return f, nil
}

// Entry is the entry the flag was compiled from.
func (f *Flag) Entry() *ctmv1.Entry { return f.entry }

// Evaluate resolves the Entry for a unit at a moment, as ctmd's Get does.
func Evaluate(e *ctmv1.Entry, c EvalContext, now time.Time) (Evaluation, error) {
	f, err := NewFlag(e)
	if err != nil {
		return Evaluation{}, err
	}
	return f.Evaluate(c, now), nil
}

// Evaluate resolves the flag for a unit at a moment.
func (f *Flag) Evaluate(c EvalContext, now time.Time) Evaluation {
	e := f.entry
	p := f.plan
	if p == nil {
		switch e.GetKind() {
		case ctmv1.RecordKind_RECORD_KIND_ROLLBACK, ctmv1.RecordKind_RECORD_KIND_ROLLOUT_ABORTED, ctmv1.RecordKind_RECORD_KIND_AUTO_ROLLBACK:
			return Evaluation{Value: e.GetValue(), Reason: ReasonRolledBack}
		}
		return Evaluation{Value: e.GetValue(), Reason: ReasonStatic}
	}
	if p.killed {
		return p.stableOf(ReasonRolledBack)
	}
	t := p.planTime(now.UnixMilli())
	if p.activateAt != nil && t < *p.activateAt {
		return p.stableOf(ReasonScheduledNotYet)
	}
	unit := c.UnitID
	if serve, ok := p.pinned[unit]; ok {
		switch serve {
		case VariantStable:
			return p.stableOf(ReasonPinned)
		case VariantNew:
			return Evaluation{Value: e.GetValue(), Variant: VariantNew, Reason: ReasonPinned}
		}
		for _, v := range p.variants {
			if v.GetName() == serve {
				return Evaluation{Value: v.GetValue(), Variant: v.GetName(), Reason: ReasonPinned}
			}
		}
		return p.stableOf(ReasonPinned)
	}
	if p.earlyAdopter[unit] {
		return f.serveNew(unit, ReasonEarlyAdopter)
	}
	attrs := c.Attributes
	if attrs == nil {
		attrs = map[string]string{}
	}
	for _, r := range p.rules {
		if r.test(unit, attrs) {
			return f.serveNew(unit, ReasonRuleMatch)
		}
	}
	if p.hasRings {
		current := p.ringIndexAt(t)
		mine := -1
		for i, env := range p.rings {
			if env == c.Environment {
				mine = i
				break
			}
		}
		if mine < 0 || mine > current {
			return p.stableOf(ReasonRingNotReached)
		}
	}
	pct := p.percentAt(t)
	if p.interpolate {
		from, okFrom := number(p.stable)
		to, okTo := number(e.GetValue())
		if okFrom && okTo {
			x := from + ((to-from)*pct)/100
			if isInteger(from) && isInteger(to) {
				x = roundHalfUpFloat(x)
			}
			return Evaluation{Value: structpb.NewNumberValue(x), Variant: VariantNew, Reason: ReasonInRollout}
		}
	}
	if !InPercentage(Bucket(p.salt, unit), pct) {
		return p.stableOf(ReasonOutOfRollout)
	}
	return f.serveNew(unit, ReasonInRollout)
}

func (p *plan) stableOf(reason string) Evaluation {
	return Evaluation{Value: p.stable, Variant: VariantStable, Reason: reason}
}

func (f *Flag) serveNew(unit, reason string) Evaluation {
	p := f.plan
	if len(p.variants) == 0 {
		return Evaluation{Value: f.entry.GetValue(), Variant: VariantNew, Reason: reason}
	}
	i := PickVariant(p.salt, unit, p.weights)
	if i < 0 {
		return Evaluation{Value: f.entry.GetValue(), Variant: VariantNew, Reason: reason}
	}
	v := p.variants[i]
	if reason == ReasonInRollout {
		reason = ReasonVariant
	}
	return Evaluation{Value: v.GetValue(), Variant: v.GetName(), Reason: reason}
}

// planTime is the plan's clock: real time, frozen while paused, moved by pauses and promotions.
func (p *plan) planTime(now int64) int64 {
	if p.pausedAt != nil {
		now = *p.pausedAt
	}
	return now + p.shiftMs
}

func (p *plan) percentAt(t int64) float64 {
	switch {
	case p.ramp:
		if t <= p.rampStart {
			return p.rampFrom
		}
		if t >= p.rampEnd {
			return p.rampTo
		}
		return p.rampFrom + ((p.rampTo-p.rampFrom)*float64(t-p.rampStart))/float64(p.rampEnd-p.rampStart)
	case p.steps != nil:
		s := p.steps
		steps := math.Max(0, math.Floor(float64(t-p.startedAt)/float64(p.stepInterval)))
		// The last step lands on the target exactly, not on start + n * increment's rounding of it.
		if steps >= stepCount(s) {
			return s.GetTarget()
		}
		raw := s.GetStart() + steps*s.GetIncrement()
		if s.GetIncrement() >= 0 {
			return math.Min(raw, s.GetTarget())
		}
		return math.Max(raw, s.GetTarget())
	}
	return 100
}

// stepCount is how many steps take start to target, with the daemon's tolerance for a
// quotient such as 9.9 / 3.3 coming out as 3.0000000000000004.
func stepCount(s *ctmv1.Steps) float64 {
	q := math.Abs(s.GetTarget()-s.GetStart()) / math.Abs(s.GetIncrement())
	return math.Max(1, math.Ceil(q-1e-9))
}

func (p *plan) ringIndexAt(t int64) int {
	byTime := int64(0)
	if p.ringInterval > 0 {
		byTime = int64(math.Max(0, math.Floor(float64(t-p.startedAt)/float64(p.ringInterval))))
	}
	i := byTime + p.promotedRings
	if last := int64(len(p.rings) - 1); i > last {
		i = last
	}
	return int(i)
}

func compilePlan(ro *ctmv1.Rollout) (*plan, error) {
	pb := ro.GetPlan()
	s := ro.GetState()
	p := &plan{
		stable:        pb.GetStable(),
		salt:          pb.GetSalt(),
		earlyAdopter:  map[string]bool{},
		pinned:        map[string]string{},
		variants:      pb.GetVariants(),
		interpolate:   pb.GetInterpolate(),
		startedAt:     millis(s.GetStartedAt()),
		shiftMs:       durationMillis(s.GetShift()),
		promotedRings: int64(s.GetPromotedRings()),
		killed:        s.GetKilled(),
	}
	if p.stable == nil {
		p.stable = structpb.NewNullValue()
	}
	if s.GetPaused() {
		at := p.startedAt
		if s.GetPausedAt() != nil {
			at = millis(s.GetPausedAt())
		}
		p.pausedAt = &at
	}
	for _, u := range pb.GetEarlyAdopters() {
		p.earlyAdopter[u] = true
	}
	for _, pin := range pb.GetPinned() {
		p.pinned[pin.GetUnitId()] = pin.GetServe()
	}
	for _, v := range pb.GetVariants() {
		p.weights = append(p.weights, Variant{Name: v.GetName(), Weight: float64(v.GetWeight())})
	}
	for i, r := range pb.GetRules() {
		compiled, err := compileRule(r)
		if err != nil {
			return nil, fmt.Errorf("rollout.plan.rules[%d]: %w", i, err)
		}
		p.rules = append(p.rules, compiled)
	}
	if r := pb.GetRings(); r != nil {
		p.hasRings = true
		p.rings = r.GetOrder()
		p.ringInterval = durationMillis(r.GetInterval())
	}
	if st := pb.GetSteps(); st != nil {
		p.steps = st
		p.stepInterval = durationMillis(st.GetInterval())
	} else if rp := pb.GetRamp(); rp != nil {
		// A ramp sent with two of start, end and duration is completed as the daemon completes it.
		p.ramp = true
		p.rampFrom, p.rampTo = rp.GetFrom(), rp.GetTo()
		switch {
		case rp.GetStartTime() != nil:
			p.rampStart = millis(rp.GetStartTime())
		case rp.GetEndTime() != nil && rp.GetDuration() != nil:
			p.rampStart = millis(rp.GetEndTime()) - durationMillis(rp.GetDuration())
		default:
			p.rampStart = p.startedAt
		}
		if rp.GetEndTime() != nil {
			p.rampEnd = millis(rp.GetEndTime())
		} else {
			p.rampEnd = p.rampStart + durationMillis(rp.GetDuration())
		}
	}
	if pb.GetActivateAt() != nil {
		at := millis(pb.GetActivateAt())
		p.activateAt = &at
	}
	return p, nil
}

func compileRule(r *ctmv1.TargetingRule) (rule, error) {
	if re, ok := r.GetRule().(*ctmv1.TargetingRule_UnitIdRegex); ok {
		// Go's regexp is RE2, the daemon's engine: linear time, a match anywhere counts.
		compiled, err := regexp.Compile(re.UnitIdRegex)
		if err != nil {
			return rule{}, err
		}
		return rule{byUnit: true, test: func(unit string, _ map[string]string) bool { return compiled.MatchString(unit) }}, nil
	}
	a := r.GetAttribute()
	if a == nil {
		return rule{}, fmt.Errorf("needs unit_id_regex or attribute")
	}
	name := a.GetAttribute()
	values := a.GetValues()
	want := ""
	if len(values) > 0 {
		want = values[0]
	}
	set := map[string]bool{}
	for _, v := range values {
		set[v] = true
	}
	attr := func(attrs map[string]string) (string, bool) { v, ok := attrs[name]; return v, ok }
	test := func(f func(attrs map[string]string) bool) rule {
		return rule{test: func(_ string, attrs map[string]string) bool { return f(attrs) }}
	}
	op := a.GetOperator()
	switch op {
	case ctmv1.AttributeOperator_ATTRIBUTE_OPERATOR_EQUALS:
		return test(func(m map[string]string) bool { v, ok := attr(m); return ok && v == want }), nil
	case ctmv1.AttributeOperator_ATTRIBUTE_OPERATOR_NOT_EQUALS:
		return test(func(m map[string]string) bool { v, ok := attr(m); return !ok || v != want }), nil
	case ctmv1.AttributeOperator_ATTRIBUTE_OPERATOR_IN:
		// An absent attribute is in no list.
		return test(func(m map[string]string) bool { v, ok := attr(m); return ok && set[v] }), nil
	case ctmv1.AttributeOperator_ATTRIBUTE_OPERATOR_NOT_IN:
		return test(func(m map[string]string) bool { v, ok := attr(m); return !ok || !set[v] }), nil
	}
	wantVersion, ok := parseSemver(want)
	if !ok {
		return rule{}, fmt.Errorf("%q is not a version", want)
	}
	// The comparison of the attribute's version with the rule's; ok is false when the attribute
	// is absent or not a version, and each operator then answers as the daemon does.
	cmp := func(m map[string]string) (int, bool) {
		v, present := attr(m)
		if !present {
			return 0, false
		}
		got, ok := parseSemver(v)
		if !ok {
			return 0, false
		}
		return got.compare(wantVersion), true
	}
	orElse := func(c int, ok bool, missing int) int {
		if ok {
			return c
		}
		return missing
	}
	switch op {
	case ctmv1.AttributeOperator_ATTRIBUTE_OPERATOR_SEMVER_EQ:
		return test(func(m map[string]string) bool { c, ok := cmp(m); return ok && c == 0 }), nil
	case ctmv1.AttributeOperator_ATTRIBUTE_OPERATOR_SEMVER_GT:
		return test(func(m map[string]string) bool { c, ok := cmp(m); return orElse(c, ok, -1) > 0 }), nil
	case ctmv1.AttributeOperator_ATTRIBUTE_OPERATOR_SEMVER_GTE:
		return test(func(m map[string]string) bool { c, ok := cmp(m); return orElse(c, ok, -1) >= 0 }), nil
	case ctmv1.AttributeOperator_ATTRIBUTE_OPERATOR_SEMVER_LT:
		return test(func(m map[string]string) bool { c, ok := cmp(m); return orElse(c, ok, 1) < 0 }), nil
	case ctmv1.AttributeOperator_ATTRIBUTE_OPERATOR_SEMVER_LTE:
		return test(func(m map[string]string) bool { c, ok := cmp(m); return orElse(c, ok, 1) <= 0 }), nil
	}
	return rule{}, fmt.Errorf("unknown attribute operator %v", op)
}

// millis is the daemon's reading of a Timestamp: whole milliseconds since the epoch.
func millis(t *timestamppb.Timestamp) int64 {
	if t == nil {
		return 0
	}
	return t.GetSeconds()*1000 + int64(math.Floor(float64(t.GetNanos())/1e6))
}

// durationMillis is seconds * 1000 + floor(nanos / 1e6), as the daemon reads a Duration.
func durationMillis(d *durationpb.Duration) int64 {
	if d == nil {
		return 0
	}
	return d.GetSeconds()*1000 + int64(math.Floor(float64(d.GetNanos())/1e6))
}

func number(v *structpb.Value) (float64, bool) {
	if n, ok := v.GetKind().(*structpb.Value_NumberValue); ok {
		return n.NumberValue, true
	}
	return 0, false
}

func isInteger(x float64) bool { return !math.IsInf(x, 0) && x == math.Trunc(x) }

// roundHalfUpFloat is JavaScript's Math.round: the nearest integer, ties toward +Inf.
func roundHalfUpFloat(x float64) float64 {
	f := math.Floor(x)
	if x-f >= 0.5 {
		return f + 1
	}
	return f
}
