import { assessNotice } from "../domain/assessNotice.js";
import { foldNotice, matchTenants, mergeWindows, type BlindWindow, type MatchableTenant, type TenantMatch } from "../domain/blindWindow.js";
import { CONTROLS_BY_SOURCE } from "../domain/controlPlan.js";
import type { LogSourceId } from "../domain/logSource.js";
import { LogSourceIdSchema } from "../domain/logSource.js";
import type { NoticeSource } from "../domain/notice.js";
import { zodProblems } from "../domain/parseResult.js";
import type { ControlPlanner, LedgerStore } from "./ledgerPorts.js";
import { NoticeMessageSchema, type NoticeMessage } from "./messages.js";
import type { Clock, HeartbeatStore, Logger, NoticeOutcome, NoticeStore, StoredRevision, WorkQueue } from "./ports.js";

/** What processing needs of a tenant profile. */
export interface LedgerTenant extends MatchableTenant {
  licence: "free" | "p1" | "p2";
}

/** The tenant registry as processing sees it. */
export interface TenantDirectory {
  get(tenantId: string): Promise<LedgerTenant | undefined>;
  list(): AsyncIterable<LedgerTenant>;
  tenantsForSubscriptions(subscriptionIds: string[]): Promise<Map<string, string>>;
}

export interface ProcessNoticeDeps {
  notices: NoticeStore;
  queue: WorkQueue;
  heartbeats: HeartbeatStore;
  tenants: TenantDirectory;
  ledger: LedgerStore;
  controls: ControlPlanner;
  clock: Clock;
  logger: Logger;
  /** Entra retention of sign-in and audit logs by licence (DESIGN.md "review deadline"). */
  retentionDays: (licence: LedgerTenant["licence"]) => number;
  /** Called after a tenant's windows of one source were rewritten (their tasks are refreshed from it). */
  onWindowsChanged?: (tenantId: string, source: LogSourceId, windows: readonly BlindWindow[], at: Date) => Promise<void>;
}

export type ProcessNoticeOutcome =
  | { outcome: "processed"; message: NoticeMessage; result: NoticeOutcome }
  | { outcome: "superseded"; message: NoticeMessage }
  | { outcome: "poisoned"; problems: string[] };

/** Windows of one (tenant, source) are recomputed until the contributions read before and after writing agree. */
const MAX_LEDGER_PASSES = 5;

/**
 * Handles one message of the `notices` queue: assess every stored revision of the notice, match tenants, record the
 * notice's contribution to each tenant's window per log source, re-merge those windows, plan their controls, and mark
 * the notice processed. Everything is recomputed from the full set of stored revisions, so reprocessing, repeated
 * deliveries and any arrival order leave the same ledger. An undecodable message cannot succeed on retry and goes to
 * `notices-poison` at once; storage failures throw, so the queue retries (and poisons after maxDequeueCount).
 */
export async function processNoticeMessage(deps: ProcessNoticeDeps, input: unknown): Promise<ProcessNoticeOutcome> {
  const parsed = NoticeMessageSchema.safeParse(input);
  if (!parsed.success) return poison(deps, input, "invalid notice message", zodProblems(parsed.error));
  const message = parsed.data;
  const key = `${message.source}~${message.id}`;
  const revision = await deps.notices.getRevision(message.source, message.id, message.revision);
  const record = await deps.notices.getNotice(message.source, message.id);
  if (!revision || !record) {
    // Stored before enqueue, always: a missing row means storage lost it or the message was forged.
    return poison(deps, input, "notice not found", [`notice ${key} revision ${message.revision} is not stored`]);
  }
  const now = deps.clock.now();
  await deps.heartbeats.beat({ component: "noticeProcess", at: now.toISOString(), expectedEverySeconds: 0 });
  if (record.state === "processed" && record.outcome) {
    return { outcome: "processed", message, result: record.outcome };
  }

  const revisions: StoredRevision[] = [];
  for await (const r of deps.notices.listRevisions(message.source, message.id)) revisions.push(r);
  const assessed = revisions.map((r) => ({ notice: r.notice, assessment: assessNotice(r.notice) }));
  const impact = foldNotice(assessed);
  const tenants = impact ? await candidateTenants(deps, impact.source, impact.subscriptionIds, impact.tenantIds) : [];
  const owners = impact?.source === "azure-monitor" ? await deps.tenants.tenantsForSubscriptions(impact.subscriptionIds) : new Map<string, string>();
  const matches: TenantMatch[] = impact ? matchTenants(impact, tenants, owners) : [];

  const newKeys = matches.flatMap((m) => m.sources.map((s) => `${m.tenantId}~${s}`)).sort();
  const previousKeys = record.contributionKeys;
  const reserved = [...new Set([...previousKeys, ...newKeys])].sort();
  let etag = record.etag;
  if (reserved.join() !== previousKeys.join()) {
    const next = await deps.notices.reserveContributionKeys(message.source, message.id, etag, reserved);
    if (next === undefined) return { outcome: "superseded", message }; // a newer revision's message will finish it
    etag = next;
  }

  const byTenant = new Map(tenants.map((t) => [t.tenantId, t]));
  for (const match of matches) {
    for (const source of match.sources) {
      await deps.ledger.putContribution(match.tenantId, source, {
        noticeKey: key,
        effect: impact?.effect ?? "loss",
        start: match.start,
        end: match.end,
        confirmed: impact?.confirmed ?? false,
        history: impact?.history ?? [],
      });
    }
  }
  const stale = previousKeys.filter((k) => !newKeys.includes(k));
  for (const k of stale) {
    const [tenantId, source] = splitKey(k);
    await deps.ledger.deleteContribution(tenantId, source, key);
  }
  for (const k of reserved) {
    const [tenantId, source] = splitKey(k);
    const tenant = byTenant.get(tenantId) ?? (await deps.tenants.get(tenantId));
    if (!tenant) continue;
    await remergeWindows(deps, tenant, source, now);
  }

  // The newest revision by publication time (ties: revision key) is what the API shows as the notice.
  const newest = assessed.reduce<(typeof assessed)[number] | undefined>((best, a) => {
    if (!best) return a;
    const newer = a.notice.publishedAt === best.notice.publishedAt ? a.notice.revision > best.notice.revision : a.notice.publishedAt > best.notice.publishedAt;
    return newer ? a : best;
  }, undefined);
  if (!newest) return poison(deps, input, "notice has no revisions", [`notice ${key} has no stored revisions`]);
  const latest = newest.assessment;
  const matchedTenants = [...new Set(matches.map((m) => m.tenantId))].sort();
  const result: NoticeOutcome = {
    relevant: impact !== undefined,
    unmatched: impact !== undefined && matchedTenants.length === 0,
    assessment: latest,
    tenants: matchedTenants,
  };
  const marked = await deps.notices.markProcessed(message.source, message.id, etag, now, result, newKeys, newest.notice);
  deps.logger.info(marked ? "notice processed" : "notice changed while processing", {
    notice: key,
    revision: message.revision,
    relevant: result.relevant,
    tenants: matchedTenants.length,
    unmatched: result.unmatched,
  });
  return marked ? { outcome: "processed", message, result } : { outcome: "superseded", message };
}

async function poison(deps: Pick<ProcessNoticeDeps, "queue" | "logger">, input: unknown, reason: string, problems: string[]): Promise<ProcessNoticeOutcome> {
  // A queue message holds 64 KiB of base64: an undecodable message near that size (or full of characters JSON escapes)
  // must still fit, with its reason, so keep only the head of it (and of each problem) when the whole does not.
  const entry = { reason, problems, message: input };
  const fits = Buffer.byteLength(JSON.stringify(entry)) <= 40_000;
  const head = (text: string | undefined, n: number): string => (text ?? String(input)).slice(0, n);
  await deps.queue.send("notices-poison", fits ? entry : { reason, problems: problems.slice(0, 10).map((p) => head(p, 300)), truncated: true, head: head(JSON.stringify(input), 2048) });
  deps.logger.warn(`message moved to notices-poison: ${reason}`, { problems });
  return { outcome: "poisoned", problems };
}

function splitKey(key: string): [string, LogSourceId] {
  const at = key.lastIndexOf("~");
  return [key.slice(0, at), LogSourceIdSchema.parse(key.slice(at + 1))];
}

/** Only the tenants a notice can concern are read: by subscription, by listed tenant, or all for an unscoped manual notice. */
async function candidateTenants(deps: ProcessNoticeDeps, source: NoticeSource, subscriptionIds: string[], tenantIds: string[]): Promise<LedgerTenant[]> {
  let ids: string[];
  if (source === "azure-monitor") ids = [...new Set((await deps.tenants.tenantsForSubscriptions(subscriptionIds)).values())];
  else if (tenantIds.length > 0 || source === "m365") ids = tenantIds;
  else {
    const all: LedgerTenant[] = [];
    for await (const t of deps.tenants.list()) all.push(t);
    return all;
  }
  const found = await Promise.all(ids.map((id) => deps.tenants.get(id)));
  return found.filter((t): t is LedgerTenant => t !== undefined);
}

/**
 * Recomputes a tenant's windows for one source from all contributions, writes them, plans their controls, and
 * repeats if another notice's contribution changed meanwhile (so concurrent processing converges on the same ledger).
 */
async function remergeWindows(deps: ProcessNoticeDeps, tenant: LedgerTenant, source: LogSourceId, now: Date): Promise<void> {
  let seen = "";
  for (let pass = 0; pass < MAX_LEDGER_PASSES; pass++) {
    const contributions = await deps.ledger.listContributions(tenant.tenantId, source);
    const fingerprint = JSON.stringify(contributions.map((c) => [c.noticeKey, c.start, c.end, c.effect, c.confirmed, c.history.length]).sort());
    if (fingerprint === seen) return;
    seen = fingerprint;
    const windows = mergeWindows(tenant.tenantId, source, contributions, deps.retentionDays(tenant.licence));
    await deps.ledger.replaceWindows(tenant.tenantId, source, windows);
    for (const w of windows) await deps.controls.plan(w, CONTROLS_BY_SOURCE[source], now);
    await deps.onWindowsChanged?.(tenant.tenantId, source, windows, now);
    deps.logger.info("windows merged", { tenant: tenant.tenantId, source, windows: windows.length, notice: windows.flatMap((w) => w.notices).join(",") });
  }
  throw new Error(`windows of ${tenant.tenantId}/${source} kept changing; the queue will retry`);
}

