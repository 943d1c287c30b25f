import { z } from "zod";
import { contentHash } from "./contentHash.js";
import { toInstant } from "./instant.js";
import type { Notice } from "./notice.js";
import type { ParseResult } from "./parseResult.js";
import { zodProblems } from "./parseResult.js";

const instant = z
  .string()
  .refine((v) => toInstant(v) !== undefined, "must be an ISO 8601 timestamp, e.g. 2024-09-02T23:00:00Z")
  .transform((v) => toInstant(v) ?? v);

/**
 * A notice posted by an operator, typically a post-incident review (PIR) e-mail pasted as text. Unknown fields are
 * refused so that a typo such as `impact_start` is reported instead of silently ignored.
 */
export const ManualNoticeSchema = z.strictObject({
  /** Optional vendor reference (e.g. the PIR's tracking id); revisions of one PIR share it. */
  id: z.string().trim().min(1).max(256).optional(),
  title: z.string().trim().min(1, "title is required").max(1024),
  body: z.string().trim().min(1, "body is required").max(200_000),
  publishedAt: instant.optional(),
  impactStart: instant.optional(),
  impactEnd: instant.optional(),
  services: z.array(z.string().trim().min(1).max(256)).max(100).optional(),
  tenants: z.array(z.uuid({ error: "each tenant must be a tenant id (GUID)" })).max(10_000).optional(),
});
export type ManualNotice = z.infer<typeof ManualNoticeSchema>;

/** Does this body look like a manual notice (as opposed to an Azure or Graph payload)? */
export function isManualNotice(json: unknown): boolean {
  return typeof json === "object" && json !== null && !Array.isArray(json) && "body" in json && "title" in json;
}

/**
 * Normalises a manual notice. `receivedAt` stands in for `publishedAt` when the operator gave none; it does not
 * enter the revision key, so posting the same text twice is recognised as one revision.
 */
export function normaliseManualNotice(json: unknown, receivedAt: Date): ParseResult<Notice> {
  const parsed = ManualNoticeSchema.safeParse(json);
  if (!parsed.success) return { ok: false, errors: zodProblems(parsed.error) };
  const m = parsed.data;
  if (m.impactStart && m.impactEnd && m.impactEnd < m.impactStart) {
    return { ok: false, errors: ["impactEnd: must not be before impactStart"] };
  }
  const tenants = [...new Set((m.tenants ?? []).map((t) => t.toLowerCase()))].sort();
  const services = [...new Set(m.services ?? [])].sort();
  const content = { title: m.title, body: m.body, impactStart: m.impactStart, impactEnd: m.impactEnd, services, tenants, publishedAt: m.publishedAt };
  const notice: Notice = {
    source: "manual",
    id: m.id ?? `pir-${contentHash({ title: m.title, body: m.body }, 16)}`,
    revision: contentHash(content, 24),
    title: m.title,
    text: m.body,
    services,
    regions: [],
    subscriptionIds: [],
    tenantIds: tenants,
    publishedAt: m.publishedAt ?? receivedAt.toISOString(),
    synthetic: false,
    ...(m.impactStart ? { impactStart: m.impactStart } : {}),
    ...(m.impactEnd ? { impactEnd: m.impactEnd } : {}),
  };
  return { ok: true, value: notice };
}
