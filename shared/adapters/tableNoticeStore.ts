import { odata, type TableEntityResult } from "@azure/data-tables";
import { z } from "zod";
import type { NoticeOutcome, NoticeRecord, NoticeState, NoticeStore, StoredRevision } from "../app/ports.js";
import { AssessmentSchema } from "../domain/assessNotice.js";
import { NoticeSchema, type Notice, type NoticeSource } from "../domain/notice.js";
import { compositeKey, escapeKey } from "../domain/tableKey.js";
import { decodeDocument, encodeDocument } from "./entityCodec.js";
import { guardStorage, isStatus } from "./storageErrors.js";
import type { StorageAccount } from "./storageAccount.js";
import { LazyTable, TABLES } from "./tables.js";

type Entity = Record<string, unknown>;

const NoticeOutcomeSchema = z.object({
  relevant: z.boolean(),
  unmatched: z.boolean(),
  assessment: AssessmentSchema,
  tenants: z.array(z.string()),
});

/** Orders revisions: later publication wins; equal times fall back to the revision key so the order is total. */
function isNewer(a: Notice, b: Notice): boolean {
  return a.publishedAt === b.publishedAt ? a.revision > b.revision : a.publishedAt > b.publishedAt;
}

function readNotice(entity: Entity, prefix: string): Notice {
  const text = decodeDocument(prefix, entity);
  if (text === undefined) throw new Error(`entity ${String(entity.partitionKey)}/${String(entity.rowKey)} has no ${prefix}`);
  return NoticeSchema.parse(JSON.parse(text));
}

/** Notices (PK source, RK id) and NoticeRevisions (PK source~id, RK revision) in Azure Table Storage. */
export class TableNoticeStore implements NoticeStore {
  private readonly notices: LazyTable;
  private readonly revisions: LazyTable;

  constructor(account: StorageAccount) {
    this.notices = new LazyTable(account.table(TABLES.notices));
    this.revisions = new LazyTable(account.table(TABLES.noticeRevisions));
  }

  async createRevision(notice: Notice, raw: string | undefined, receivedAt: Date): Promise<{ created: boolean; enqueued: boolean }> {
    const entity = {
      partitionKey: compositeKey(notice.source, notice.id),
      rowKey: escapeKey(notice.revision),
      title: notice.title.slice(0, 1000),
      publishedAt: notice.publishedAt,
      stage: notice.stage ?? "",
      synthetic: notice.synthetic,
      receivedAt: receivedAt.toISOString(),
      ...encodeDocument("notice", JSON.stringify(notice)),
      ...(raw === undefined ? {} : encodeDocument("raw", raw)),
    };
    return guardStorage("store notice revision", async () => {
      try {
        await this.revisions.run((t) => t.createEntity(entity));
        return { created: true, enqueued: false };
      } catch (error) {
        if (!isStatus(error, 409)) throw error;
        const existing = await this.revisions.run((t) =>
          t.getEntity<Entity>(entity.partitionKey, entity.rowKey, { queryOptions: { select: ["enqueuedAt"] } }),
        );
        return { created: false, enqueued: typeof existing.enqueuedAt === "string" };
      }
    });
  }

  async markRevisionEnqueued(notice: Notice, at: Date): Promise<void> {
    await guardStorage("mark revision enqueued", () =>
      this.revisions.run((t) =>
        t.updateEntity(
          { partitionKey: compositeKey(notice.source, notice.id), rowKey: escapeKey(notice.revision), enqueuedAt: at.toISOString() },
          "Merge",
        ),
      ),
    );
  }

  async upsertNotice(notice: Notice, at: Date): Promise<void> {
    const partitionKey = notice.source;
    const rowKey = escapeKey(notice.id);
    const fields = (latest: Notice): Entity & { partitionKey: string; rowKey: string } => ({
      partitionKey,
      rowKey,
      state: "pending" satisfies NoticeState,
      updatedAt: at.toISOString(),
      latestRevision: latest.revision,
      publishedAt: latest.publishedAt,
      title: latest.title.slice(0, 1000),
      synthetic: latest.synthetic,
      ...encodeDocument("latest", JSON.stringify(latest)),
    });
    await guardStorage("upsert notice", async () => {
      // Most notices are new: try to create first (one round trip), and fall back to a read-modify-write guarded by
      // ETag, so concurrent revisions of one notice never overwrite a newer latest. Merge, not Replace: what
      // processing recorded (contribution keys, outcome) must survive a new revision.
      try {
        await this.notices.run((t) => t.createEntity(fields(notice)));
        return;
      } catch (error) {
        if (!isStatus(error, 409)) throw error;
      }
      for (let attempt = 0; attempt < 8; attempt++) {
        const current = await this.getEntity(partitionKey, rowKey);
        try {
          if (!current) {
            await this.notices.run((t) => t.createEntity(fields(notice)));
            return;
          }
          const latest = readNotice(current, "latest");
          const next = isNewer(notice, latest) ? notice : latest;
          await this.notices.run((t) => t.updateEntity(fields(next), "Merge", { etag: current.etag }));
          return;
        } catch (error) {
          if (!isStatus(error, 409) && !isStatus(error, 412)) throw error;
        }
      }
      throw new Error(`notice ${partitionKey}/${rowKey}: too much contention`);
    });
  }

  async getNotice(source: NoticeSource, id: string): Promise<NoticeRecord | undefined> {
    const entity = await guardStorage("read notice", () => this.getEntity(source, escapeKey(id)));
    return entity ? toRecord(entity) : undefined;
  }

  async getRevision(source: NoticeSource, id: string, revision: string): Promise<StoredRevision | undefined> {
    const entity = await guardStorage("read notice revision", async () => {
      try {
        return await this.revisions.run((t) => t.getEntity<Entity>(compositeKey(source, id), escapeKey(revision)));
      } catch (error) {
        if (isStatus(error, 404)) return undefined;
        throw error;
      }
    });
    return entity ? toRevision(entity) : undefined;
  }

  async *listRevisions(source: NoticeSource, id: string): AsyncIterable<StoredRevision> {
    const pk = compositeKey(source, id);
    for await (const entity of this.revisions.entities<Entity>("list notice revisions", { filter: odata`PartitionKey eq ${pk}` })) {
      yield toRevision(entity);
    }
  }

  async markProcessed(source: NoticeSource, id: string, etag: string, at: Date, outcome: NoticeOutcome, contributionKeys: string[]): Promise<boolean> {
    return guardStorage("mark notice processed", async () => {
      try {
        await this.notices.run((t) =>
          t.updateEntity(
            {
              partitionKey: source,
              rowKey: escapeKey(id),
              state: "processed",
              processedAt: at.toISOString(),
              relevant: outcome.relevant,
              unmatched: outcome.unmatched,
              contributionKeys: JSON.stringify(contributionKeys),
              ...encodeDocument("outcome", JSON.stringify(outcome)),
            },
            "Merge",
            { etag },
          ),
        );
        return true;
      } catch (error) {
        if (isStatus(error, 412)) return false;
        throw error;
      }
    });
  }

  async reserveContributionKeys(source: NoticeSource, id: string, etag: string, keys: string[]): Promise<string | undefined> {
    return guardStorage("reserve contribution keys", async () => {
      try {
        const result = await this.notices.run((t) =>
          t.updateEntity({ partitionKey: source, rowKey: escapeKey(id), contributionKeys: JSON.stringify(keys) }, "Merge", { etag }),
        );
        return result.etag;
      } catch (error) {
        if (isStatus(error, 412)) return undefined;
        throw error;
      }
    });
  }

  async *listNotices(filter: { unmatched?: boolean }): AsyncIterable<NoticeRecord> {
    const query = filter.unmatched === undefined ? {} : { filter: odata`unmatched eq ${filter.unmatched}` };
    for await (const entity of this.notices.entities<Entity>("list notices", query)) yield toRecord(entity);
  }

  async *listPending(before: Date): AsyncIterable<NoticeRecord> {
    const filter = odata`state eq ${"pending"} and updatedAt lt ${before.toISOString()}`;
    for await (const entity of this.notices.entities<Entity>("list pending notices", { filter })) yield toRecord(entity);
  }

  private async getEntity(partitionKey: string, rowKey: string): Promise<TableEntityResult<Entity> | undefined> {
    try {
      return await this.notices.run((t) => t.getEntity<Entity>(partitionKey, rowKey));
    } catch (error) {
      if (isStatus(error, 404)) return undefined;
      throw error;
    }
  }
}

function toRecord(entity: TableEntityResult<Entity>): NoticeRecord {
  const state = entity.state === "processed" ? "processed" : "pending";
  const outcome = decodeDocument("outcome", entity);
  const keys: unknown = typeof entity.contributionKeys === "string" ? JSON.parse(entity.contributionKeys) : [];
  return {
    latest: readNotice(entity, "latest"),
    state,
    updatedAt: String(entity.updatedAt),
    etag: entity.etag,
    contributionKeys: z.array(z.string()).parse(keys),
    ...(outcome === undefined ? {} : { outcome: NoticeOutcomeSchema.parse(JSON.parse(outcome)) }),
    ...(typeof entity.processedAt === "string" ? { processedAt: entity.processedAt } : {}),
  };
}

function toRevision(entity: Entity): StoredRevision {
  return {
    notice: readNotice(entity, "notice"),
    receivedAt: String(entity.receivedAt),
    ...(typeof entity.enqueuedAt === "string" ? { enqueuedAt: entity.enqueuedAt } : {}),
  };
}
