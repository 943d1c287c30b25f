import { z } from "zod";
import { NoticeSourceSchema } from "../domain/notice.js";

/** Message on the `notices` queue: one stored revision to process. Keys only; the notice itself is in the table. */
export const NoticeMessageSchema = z.strictObject({
  v: z.literal(1),
  kind: z.literal("notice-revision"),
  source: NoticeSourceSchema,
  id: z.string().min(1).max(512),
  revision: z.string().min(1).max(512),
});
export type NoticeMessage = z.infer<typeof NoticeMessageSchema>;

export function noticeMessage(n: { source: NoticeMessage["source"]; id: string; revision: string }): NoticeMessage {
  return { v: 1, kind: "notice-revision", source: n.source, id: n.id, revision: n.revision };
}

/** Message on the `controls` queue: a turn of the control runner (it runs the most urgent control, see runControl). */
export const ControlMessageSchema = z.strictObject({
  v: z.literal(1),
  kind: z.literal("control"),
  tenantId: z.string().min(1).max(256),
  windowId: z.string().min(1).max(256),
  control: z.enum(["signin-review", "audit-review", "risk-review", "preserve", "hunt-checklist"]),
});
export type ControlMessage = z.infer<typeof ControlMessageSchema>;
