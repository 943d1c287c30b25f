import { z } from "zod";
import { WINDOW_STATUSES, type BlindWindow } from "../domain/blindWindow.js";
import { zodProblems } from "../domain/parseResult.js";
import { ValidationError } from "../errors.js";
import type { LedgerStore } from "./ledgerPorts.js";
import type { NoticeStore } from "./ports.js";

/** Query of `GET /api/windows` and `windows list`. */
export const WindowQuerySchema = z.strictObject({
  tenant: z.uuid({ error: "must be a tenant id (GUID)" }).transform((t) => t.toLowerCase()).optional(),
  status: z.enum(WINDOW_STATUSES, { error: `must be one of ${WINDOW_STATUSES.join(", ")}` }).optional(),
});
export type WindowQuery = z.infer<typeof WindowQuerySchema>;

/** Query of `GET /api/notices`. */
export const NoticeQuerySchema = z.strictObject({
  unmatched: z.enum(["true", "false"], { error: "must be true or false" }).transform((v) => v === "true").optional(),
});

function parseQuery<S extends z.ZodType>(schema: S, query: Record<string, string>): z.infer<S> {
  const parsed = schema.safeParse(query);
  if (!parsed.success) throw new ValidationError("Invalid query", zodProblems(parsed.error));
  return parsed.data;
}

/** Windows of the ledger, soonest review deadline first (the order work is done in). */
export async function listWindows(deps: { ledger: LedgerStore }, query: Record<string, string>): Promise<BlindWindow[]> {
  const q = parseQuery(WindowQuerySchema, query);
  const out: BlindWindow[] = [];
  for await (const w of deps.ledger.listWindows({ ...(q.tenant ? { tenantId: q.tenant } : {}), ...(q.status ? { status: q.status } : {}) })) out.push(w);
  return out.sort((a, b) => a.reviewDeadline.localeCompare(b.reviewDeadline) || a.tenantId.localeCompare(b.tenantId) || a.source.localeCompare(b.source));
}

export interface NoticeSummary {
  noticeKey: string;
  title: string;
  state: string;
  latestRevision: string;
  publishedAt: string;
  synthetic: boolean;
  relevant: boolean | null;
  unmatched: boolean | null;
  tenants: string[];
  sources: string[];
  window: { start: string | null; end: string | null } | null;
}

/** Notices with what processing made of them; `unmatched=true` lists relevant notices that matched no tenant. */
export async function listNotices(deps: { notices: NoticeStore }, query: Record<string, string>): Promise<NoticeSummary[]> {
  const q = parseQuery(NoticeQuerySchema, query);
  const out: NoticeSummary[] = [];
  for await (const r of deps.notices.listNotices(q.unmatched === undefined ? {} : { unmatched: q.unmatched })) {
    out.push({
      noticeKey: `${r.source}~${r.id}`,
      title: r.latest?.title ?? r.title,
      state: r.state,
      latestRevision: r.latest?.revision ?? r.lastRevision,
      publishedAt: r.latest?.publishedAt ?? r.publishedAt,
      synthetic: r.latest?.synthetic ?? r.synthetic,
      relevant: r.outcome?.relevant ?? null,
      unmatched: r.outcome?.unmatched ?? null,
      tenants: r.outcome?.tenants ?? [],
      sources: r.outcome?.assessment.sources ?? [],
      window: r.outcome ? r.outcome.assessment.window : null,
    });
  }
  return out.sort((a, b) => b.publishedAt.localeCompare(a.publishedAt));
}
