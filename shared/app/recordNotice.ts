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
 * this resolves: the revision is stored (with its notice marked pending, in one transaction) **and** a message is on
 * the `notices` queue. Any storage failure rejects (StorageUnavailableError → 503, so the sender retries); a retry
 * completes whatever step did not happen. Idempotent: the revision key comes from content, so a repeated delivery
 * stores nothing new. It is enqueued again only while its notice is not yet processed — the first enqueue may never
 * have happened, and processing the same notice twice changes nothing — so no per-revision "enqueued" mark (one more
 * storage write on every notice) is needed.
 */
export async function recordNotice(deps: RecordNoticeDeps, notice: Notice, raw?: string): Promise<RecordNoticeResult> {
  const receivedAt = deps.clock.now();
  const result = { noticeKey: noticeKey(notice), revision: notice.revision };
  const stored = await deps.notices.storeRevision(notice, raw, receivedAt);
  if (!stored.created && stored.processed) {
    deps.logger.info("notice revision already recorded and processed", { notice: result.noticeKey, revision: notice.revision });
    return { ...result, duplicate: true };
  }
  await deps.queue.send("notices", noticeMessage(notice));
  deps.logger.info(stored.created ? "notice revision recorded" : "notice revision already recorded; enqueued again until processed", {
    notice: result.noticeKey,
    revision: notice.revision,
    synthetic: notice.synthetic,
  });
  return { ...result, duplicate: !stored.created };
}
