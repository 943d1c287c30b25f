import { noticeKey, type Notice } from "../domain/notice.js";
import { noticeMessage } from "./messages.js";
import type { Clock, Logger, NoticeStore, WorkQueue } from "./ports.js";

export interface RecordNoticeDeps {
  notices: NoticeStore;
  queue: WorkQueue;
  clock: Clock;
  logger: Logger;
}

export interface RecordNoticeResult {
  noticeKey: string;
  revision: string;
  /** The revision was stored before (a repeated delivery); nothing new was stored. */
  duplicate: boolean;
}

/**
 * Records one notice revision durably and hands it to processing. The caller may acknowledge the sender only when
 * this resolves: the revision is stored **and** a message is on the `notices` queue. Any storage failure rejects
 * (StorageUnavailableError → 503, so the sender retries); a retry completes whatever step did not happen.
 * Idempotent: the revision key comes from content, so a repeated delivery stores nothing new and is only
 * re-enqueued if its first enqueue never happened.
 */
export async function recordNotice(deps: RecordNoticeDeps, notice: Notice, raw?: string): Promise<RecordNoticeResult> {
  const receivedAt = deps.clock.now();
  const result = { noticeKey: noticeKey(notice), revision: notice.revision };
  const { created, enqueued } = await deps.notices.createRevision(notice, raw, receivedAt);
  if (!created && enqueued) {
    deps.logger.info("notice revision already recorded", { notice: result.noticeKey, revision: notice.revision });
    return { ...result, duplicate: true };
  }
  await deps.notices.upsertNotice(notice, receivedAt);
  await deps.queue.send("notices", noticeMessage(notice));
  try {
    await deps.notices.markRevisionEnqueued(notice, deps.clock.now());
  } catch (error) {
    // Stored and enqueued: the guarantee holds. Without the mark a retry enqueues once more, which is harmless.
    deps.logger.warn("could not mark revision enqueued", { notice: result.noticeKey, error: String(error) });
  }
  deps.logger.info("notice revision recorded", {
    notice: result.noticeKey,
    revision: notice.revision,
    synthetic: notice.synthetic,
    resumed: !created,
  });
  return { ...result, duplicate: !created };
}
