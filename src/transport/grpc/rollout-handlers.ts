import type { RolloutService, MilestoneStatus } from "../../service/rollout-service.js";
import { headerOf, type HeaderSource } from "./response-header.js";
import { PromoteTarget, type Milestone, type RolloutServiceServer } from "../../gen/ctm/v1/rollout_service.js";
import { toEntry } from "./entry-mapper.js";
import { toContext, toPbReason } from "./rollout-mapper.js";
import { unary, type Rpc } from "./rpc-logger.js";

const toMilestone = (m: MilestoneStatus): Milestone => ({
  index: m.index,
  description: m.description,
  dueTime: m.dueAt === undefined ? undefined : new Date(m.dueAt),
  reached: m.reached,
  percentage: m.percent,
  ring: m.ring,
});

/** Proto <-> domain mapping for RolloutService. */
export function rolloutHandlers(svc: RolloutService, source: HeaderSource, rpc: Rpc): RolloutServiceServer {
  const header = () => headerOf(source);
  const byKey = (r: { key: string }) => r.key;
  const entryOf = async (p: Promise<Parameters<typeof toEntry>[0]>) => ({ entry: toEntry(await p), header: header() });
  return {
    status: unary(rpc, "Rollout.Status", byKey, (r) => {
      const s = svc.status(r.key);
      return {
        header: header(),
        entry: toEntry(s.record),
        active: s.active,
        percentage: s.percent,
        ring: s.ring,
        paused: s.paused,
        killed: s.killed,
        activated: s.activated,
        nextMilestone: s.next && toMilestone(s.next),
        milestones: s.milestones.map(toMilestone),
      };
    }),
    pause: unary(rpc, "Rollout.Pause", byKey, (r) => entryOf(svc.pause(r.key, r))),
    resume: unary(rpc, "Rollout.Resume", byKey, (r) => entryOf(svc.resume(r.key, r))),
    kill: unary(rpc, "Rollout.Kill", byKey, (r) => entryOf(svc.kill(r.key, r))),
    abort: unary(rpc, "Rollout.Abort", byKey, (r) => entryOf(svc.abort(r.key, r))),
    promote: unary(rpc, "Rollout.Promote", byKey, (r) =>
      entryOf(svc.promote(r.key, r.target === PromoteTarget.PROMOTE_TARGET_FINISH ? "finish" : "next", r)),
    ),
    explain: unary(rpc, "Rollout.Explain", byKey, async (r) => {
      const e = await svc.explain(r.key, toContext(r.context), r.time?.getTime());
      return {
        header: header(),
        entry: toEntry(e.record),
        value: e.resolution.value,
        variant: e.resolution.variant,
        reason: toPbReason(e.resolution.reason),
        bucket: e.bucket,
        variantBucket: e.variantBucket,
        percentage: e.percent,
        ring: e.ring,
        trace: e.trace,
      };
    }),
  };
}
