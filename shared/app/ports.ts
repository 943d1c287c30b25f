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

export interface NoticeRecord {
  /** The latest revision by publication time (ties broken by revision key). */
  latest: Notice;
  state: NoticeState;
  updatedAt: string;
  processedAt?: string;
  /** Opaque concurrency token for conditional updates. */
  etag: string;
}

export interface StoredRevision {
  notice: Notice;
  receivedAt: string;
  enqueuedAt?: string;
}

/** Durable store of notices and their revisions (Notices and NoticeRevisions tables). */
export interface NoticeStore {
  /** Stores a revision unless one with the same key exists. Atomic: one entity. */
  createRevision(notice: Notice, raw: string | undefined, receivedAt: Date): Promise<{ created: boolean; enqueued: boolean }>;
  markRevisionEnqueued(notice: Notice, at: Date): Promise<void>;
  /** Records that `notice` arrived: the notice becomes pending, and its latest revision advances if this one is newer. */
  upsertNotice(notice: Notice, at: Date): Promise<void>;
  getNotice(source: NoticeSource, id: string): Promise<NoticeRecord | undefined>;
  getRevision(source: NoticeSource, id: string, revision: string): Promise<StoredRevision | undefined>;
  listRevisions(source: NoticeSource, id: string): AsyncIterable<StoredRevision>;
  /** Marks the notice processed if it has not changed since `etag`; false when it changed (more work arrived). */
  markProcessed(source: NoticeSource, id: string, etag: string, at: Date): Promise<boolean>;
  /** Notices still pending and last updated before `before`. */
  listPending(before: Date): AsyncIterable<NoticeRecord>;
}

export const QUEUE_NAMES = ["notices", "controls", "deliveries"] as const;
export type QueueName = (typeof QUEUE_NAMES)[number];

/** Work queues (Azure Storage queues, base64 JSON messages as the Functions queue trigger expects). */
export interface WorkQueue {
  send(queue: QueueName | `${QueueName}-poison`, message: unknown): Promise<void>;
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
