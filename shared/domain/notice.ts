import { z } from "zod";

/** Where a notice came from (../shared/DESIGN.md, "notice"). */
export const NOTICE_SOURCES = ["azure-monitor", "m365", "manual", "detector"] as const;
export const NoticeSourceSchema = z.enum(NOTICE_SOURCES);
export type NoticeSource = z.infer<typeof NoticeSourceSchema>;

const isoInstant = z.iso.datetime({ offset: true });

/**
 * One revision of a vendor notice, normalised from whichever format it arrived in. The pair (source, id) names the
 * notice; `revision` names this revision and is derived from content, never from arrival, so a repeated delivery
 * yields the same key.
 */
export const NoticeSchema = z.object({
  source: NoticeSourceSchema,
  /** Vendor id: Azure tracking id, Microsoft 365 issue id, or a content-derived id for manual notices. */
  id: z.string().min(1).max(512),
  /** Revision key: Azure communicationId + stage, Graph lastModifiedDateTime + post hash, or a content hash. */
  revision: z.string().min(1).max(512),
  title: z.string().max(4096),
  /** Plain text of the communication (HTML removed). */
  text: z.string(),
  services: z.array(z.string()),
  regions: z.array(z.string()),
  /** Azure subscription ids (lower-case GUIDs) the notice was delivered for. */
  subscriptionIds: z.array(z.string()),
  /** Tenants the notice names (manual notices) or was polled for (m365). */
  tenantIds: z.array(z.string()),
  incidentType: z.string().optional(),
  /** Azure stage (Active, Resolved, RCA, Planned…) or Graph status (serviceRestored, investigating…). */
  stage: z.string().optional(),
  communicationId: z.string().optional(),
  /** When the vendor published this revision (ISO 8601). */
  publishedAt: isoInstant,
  /** Structured impact start, when the format carries one. */
  impactStart: isoInstant.optional(),
  /** Structured impact end / mitigation, when the format carries one. */
  impactEnd: isoInstant.optional(),
  /** A test action (`IsSynthetic: "True"`): stored and visible, never opens a window. */
  synthetic: z.boolean(),
});
export type Notice = z.infer<typeof NoticeSchema>;

/** The stable name of a notice across its revisions. */
export function noticeKey(notice: Pick<Notice, "source" | "id">): string {
  return `${notice.source}~${notice.id}`;
}
