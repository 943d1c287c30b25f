import { noticeMessage } from "./messages.js";
import type { Clock, HeartbeatStore, Logger, NoticeStore, WorkQueue } from "./ports.js";

export interface SweepDeps {
  notices: NoticeStore;
  queue: WorkQueue;
  heartbeats: HeartbeatStore;
  clock: Clock;
  logger: Logger;
  /** Pending longer than this is stuck (BLINDWINDOW_SWEEP_AFTER_SECONDS; STUCK_AFTER_MS by default). */
  stuckAfterMs?: number;
}

/** Notices pending longer than this are re-enqueued (DESIGN.md: "The sweeper re-enqueues stored-but-unprocessed notices"). */
export const STUCK_AFTER_MS = 5 * 60_000;
export const SWEEPER_SCHEDULE = "0 */5 * * * *";
export const SWEEPER_EVERY_SECONDS = 300;

/** Re-enqueues notices stored but not processed in time (a lost message, a crash between store and enqueue). */
export async function sweepNotices(deps: SweepDeps): Promise<{ reenqueued: number }> {
  const now = deps.clock.now();
  let reenqueued = 0;
  for await (const record of deps.notices.listPending(new Date(now.getTime() - (deps.stuckAfterMs ?? STUCK_AFTER_MS)))) {
    await deps.queue.send("notices", noticeMessage({ source: record.source, id: record.id, revision: record.lastRevision }));
    reenqueued += 1;
    deps.logger.warn("re-enqueued a stuck notice", { notice: `${record.source}~${record.id}`, since: record.updatedAt });
  }
  await deps.heartbeats.beat({
    component: "sweeper",
    at: now.toISOString(),
    expectedEverySeconds: SWEEPER_EVERY_SECONDS,
    details: `re-enqueued ${reenqueued}`,
  });
  return { reenqueued };
}
