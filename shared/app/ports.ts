import type { Assessment } from "../domain/assessNotice.js";
import type { Notice, NoticeSource } from "../domain/notice.js";

/** Structured logging with fields (tenant, notice, window, control). Implementations redact secrets. */
export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

/** Processing state of a notice: `pending` until every stored revision has been processed. */
export type NoticeState = "pending" | "processed";

/** What processing made of a notice (kept on the Notices row; shown by the API). */
export interface NoticeOutcome {
  relevant: boolean;
  /** Relevant, but no tenant matched: visible as unmatched. */
  unmatched: boolean;
  /** The assessment of the latest revision. */
  assessment: Assessment;
  /** Tenants whose windows this notice contributes to. */
  tenants: string[];
}

export interface NoticeRecord {
  source: NoticeSource;
  id: string;
  /** The revision received last, its title, publication time and test-action flag (shown until processed). */
  lastRevision: string;
  title: string;
  publishedAt: string;
  synthetic: boolean;
  /** The newest revision by publication time (ties broken by revision key), set by processing. */
  latest?: Notice;
  state: NoticeState;
  updatedAt: string;
  processedAt?: string;
  outcome?: NoticeOutcome;
  /** `tenant~source` keys of the window contributions this notice may have written (cleaned up on reprocessing). */
  contributionKeys: string[];
  /** Opaque concurrency token for conditional updates. */
  etag: string;
}

export interface StoredRevision {
  notice: Notice;
  receivedAt: string;
}

/** Durable store of notices and their revisions (Notices and NoticeRevisions tables). */
export interface NoticeStore {
  /**
   * Stores a revision unless one with the same key exists, and marks its notice pending — atomically (one
   * transaction). For a revision stored before, `processed` tells whether its notice has been processed since
   * (then nothing is left to do); otherwise the revision may never have reached the queue.
   */
  storeRevision(notice: Notice, raw: string | undefined, receivedAt: Date): Promise<{ created: true } | { created: false; processed: boolean }>;
  getNotice(source: NoticeSource, id: string): Promise<NoticeRecord | undefined>;
  getRevision(source: NoticeSource, id: string, revision: string): Promise<StoredRevision | undefined>;
  listRevisions(source: NoticeSource, id: string): AsyncIterable<StoredRevision>;
  /** Marks the notice processed if it has not changed since `etag`; false when it changed (more work arrived). */
  markProcessed(source: NoticeSource, id: string, etag: string, at: Date, outcome: NoticeOutcome, contributionKeys: string[], latest: Notice): Promise<boolean>;
  /**
   * Records, before they are written, every contribution key processing is about to write, so a later run can clean
   * them up. Returns the new ETag, or undefined when the notice changed since `etag`.
   */
  reserveContributionKeys(source: NoticeSource, id: string, etag: string, keys: string[]): Promise<string | undefined>;
  /** Notices by filter, for the API. */
  listNotices(filter: { unmatched?: boolean }): AsyncIterable<NoticeRecord>;
  /** Notices still pending and last updated before `before`. */
  listPending(before: Date): AsyncIterable<NoticeRecord>;
}

export const QUEUE_NAMES = ["notices", "controls", "deliveries"] as const;
export type QueueName = (typeof QUEUE_NAMES)[number];

/** Work queues (Azure Storage queues, base64 JSON messages as the Functions queue trigger expects). */
export interface WorkQueue {
  /** `delaySeconds`: the message becomes visible only then (a retry's back-off; Storage queues allow up to 7 days). */
  send(queue: QueueName | `${QueueName}-poison`, message: unknown, options?: { delaySeconds?: number }): Promise<void>;
}

export interface Heartbeat {
  component: string;
  at: string;
  /** How often the component is expected to beat, in seconds (0: only when there is work). */
  expectedEverySeconds: number;
  details?: string;
}

export interface HeartbeatStore {
  beat(heartbeat: Heartbeat): Promise<void>;
  list(): Promise<Heartbeat[]>;
}

/** Cheap probes of the storage services, for /api/health. */
export interface StorageProbe {
  probe(): Promise<{ tables: boolean; queues: boolean }>;
}

/** The tenant registry (Tenants table, PK `tenant`; Subscriptions index table, PK `subscription`). */
export interface TenantStore {
  get(tenantId: string): Promise<import("../domain/tenant.js").TenantProfile | undefined>;
  list(): AsyncIterable<import("../domain/tenant.js").TenantProfile>;
  /** Writes profiles (all already validated); subscription index rows follow; a subscription moving to another tenant is re-pointed, and index rows of subscriptions a tenant no longer has are removed. */
  putMany(profiles: import("../domain/tenant.js").TenantProfile[], at: Date): Promise<void>;
  /** Tenant ids owning these subscription ids (lower-case), for matching Azure Monitor notices. */
  tenantsForSubscriptions(subscriptionIds: string[]): Promise<Map<string, string>>;
}
