import { NoticeMessageSchema, type NoticeMessage } from "./messages.js";
import type { Clock, HeartbeatStore, Logger, NoticeStore, WorkQueue } from "./ports.js";
import { zodProblems } from "../domain/parseResult.js";

export interface ProcessNoticeDeps {
  notices: NoticeStore;
  queue: WorkQueue;
  heartbeats: HeartbeatStore;
  clock: Clock;
  logger: Logger;
}

export type ProcessNoticeOutcome =
  | { outcome: "processed"; message: NoticeMessage }
  | { outcome: "superseded"; message: NoticeMessage }
  | { outcome: "poisoned"; problems: string[] };

/**
 * Handles one message of the `notices` queue. An undecodable message cannot succeed on retry, so it is moved to
 * `notices-poison` at once with the reason. A valid message marks its notice processed unless another revision
 * arrived meanwhile (then that revision's own message will finish it). Assessment and matching plug in here.
 * Storage failures throw, so the queue retries (and poisons after `maxDequeueCount`).
 */
export async function processNoticeMessage(deps: ProcessNoticeDeps, input: unknown): Promise<ProcessNoticeOutcome> {
  const parsed = NoticeMessageSchema.safeParse(input);
  if (!parsed.success) {
    const problems = zodProblems(parsed.error);
    await deps.queue.send("notices-poison", { reason: "invalid notice message", problems, message: input });
    deps.logger.warn("invalid message moved to notices-poison", { problems });
    return { outcome: "poisoned", problems };
  }
  const message = parsed.data;
  const revision = await deps.notices.getRevision(message.source, message.id, message.revision);
  const record = await deps.notices.getNotice(message.source, message.id);
  if (!revision || !record) {
    // Stored before enqueue, always: a missing row means storage lost it or the message was forged.
    const problems = [`notice ${message.source}~${message.id} revision ${message.revision} is not stored`];
    await deps.queue.send("notices-poison", { reason: "notice not found", problems, message: input });
    deps.logger.warn("message for an unknown notice moved to notices-poison", { notice: `${message.source}~${message.id}` });
    return { outcome: "poisoned", problems };
  }
  const now = deps.clock.now();
  const marked = record.state === "processed" || (await deps.notices.markProcessed(message.source, message.id, record.etag, now));
  await deps.heartbeats.beat({ component: "noticeProcess", at: now.toISOString(), expectedEverySeconds: 0 });
  deps.logger.info(marked ? "notice processed" : "notice changed while processing", {
    notice: `${message.source}~${message.id}`,
    revision: message.revision,
  });
  return { outcome: marked ? "processed" : "superseded", message };
}
