import type { Reason } from "@ctm/core/rollout/plan";

/**
 * Every value of plan.ts's Reason (a type-only union, so spelled out here): a Record over the
 * union makes tsc reject this list when a reason is added to or removed from plan.ts.
 */
const EVERY: Record<Reason, true> = {
  static: true,
  early_adopter: true,
  pinned: true,
  rule_match: true,
  in_rollout: true,
  out_of_rollout: true,
  scheduled_not_yet: true,
  ring_not_reached: true,
  variant: true,
  rolled_back: true,
};

export const ALL_REASONS = Object.keys(EVERY) as Reason[];
