import { odata, type TableEntityResult } from "@azure/data-tables";
import { z } from "zod";
import type { NoticeOutcome, NoticeRecord, NoticeState, NoticeStore, StoredRevision } from "../app/ports.js";
import { AssessmentSchema } from "../domain/assessNotice.js";
import { NoticeSchema, NoticeSourceSchema, type Notice, type NoticeSource } from "../domain/notice.js";
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

/** Row key of a notice's summary row; revision rows are `r~<escaped revision>` (escapeKey never yields `~`). */
const SUMMARY = "notice";
const revisionRow = (revision: string): string => `r~${escapeKey(revision)}`;

function readNotice(entity: Entity, prefix: string): Notice {
  const text = decodeDocument(prefix, entity);
  if (text === undefined) throw new Error(`entity ${String(entity.partitionKey)}/${String(entity.rowKey)} has no ${prefix}`);
  return NoticeSchema.parse(JSON.parse(text));
}

/**
 * Notices in Azure Table Storage, one partition per notice (`source~id`): a summary row (`notice`: state, what
 * processing made of it) and one row per revision (`r~<revision>`: the normalised notice and the raw payload).
 * Keeping both in one partition lets intake store a revision **and** mark its notice pending in one atomic
 * transaction (one round trip; DESIGN.md's separate Notices/NoticeRevisions tables needed three), and spreads
 * notices over many partitions instead of one hot partition per source.
 */
export class TableNoticeStore implements NoticeStore {
  private readonly notices: LazyTable;

  constructor(account: StorageAccount) {
    this.notices = new LazyTable(account.table(TABLES.notices));
  }

  async storeRevision(notice: Notice, raw: string | undefined, receivedAt: Date): Promise<{ created: true } | { created: false; processed: boolean }> {
    const partitionKey = compositeKey(notice.source, notice.id);
    const revision = {
      partitionKey,
      rowKey: revisionRow(notice.revision),
      kind: "revision",
      revision: notice.revision,
      title: notice.title.slice(0, 1000),
      publishedAt: notice.publishedAt,
      stage: notice.stage ?? "",
      synthetic: notice.synthetic,
      receivedAt: receivedAt.toISOString(),
      ...encodeDocument("notice", JSON.stringify(notice)),
      ...(raw === undefined ? {} : encodeDocument("raw", raw)),
    };
    // Merged into the summary: a new revision makes the notice pending again (and changes its ETag, so a run that is
    // processing the older set of revisions cannot mark it processed).
    const summary = {
      partitionKey,
      rowKey: SUMMARY,
      kind: "notice",
      source: notice.source,
      noticeId: notice.id,
      state: "pending" satisfies NoticeState,
      updatedAt: receivedAt.toISOString(),
      lastRevision: notice.revision,
      lastTitle: notice.title.slice(0, 1000),
      lastPublishedAt: notice.publishedAt,
      lastSynthetic: notice.synthetic,
    };
    return guardStorage("store notice revision", async () => {
      try {
        await this.notices.run((t) => t.submitTransaction([["create", revision], ["upsert", summary, "Merge"]]));
        return { created: true };
      } catch (error) {
        if (!isStatus(error, 409)) throw error;
        // The revision and the pending mark were written together before; the summary says whether processing has
        // caught up with it since.
        const existing = await this.notices.run((t) => t.getEntity<Entity>(partitionKey, SUMMARY, { queryOptions: { select: ["state"] } }));
        return { created: false, processed: existing.state === "processed" };
      }
    });
  }

  async getNotice(source: NoticeSource, id: string): Promise<NoticeRecord | undefined> {
    const entity = await guardStorage("read notice", () => this.getEntity(compositeKey(source, id), SUMMARY));
    return entity ? toRecord(entity) : undefined;
  }

  async getRevision(source: NoticeSource, id: string, revision: string): Promise<StoredRevision | undefined> {
    const entity = await guardStorage("read notice revision", () => this.getEntity(compositeKey(source, id), revisionRow(revision)));
    return entity ? toRevision(entity) : undefined;
  }

  async *listRevisions(source: NoticeSource, id: string): AsyncIterable<StoredRevision> {
    const filter = odata`PartitionKey eq ${compositeKey(source, id)} and kind eq ${"revision"}`;
    for await (const entity of this.notices.entities<Entity>("list notice revisions", { filter })) yield toRevision(entity);
  }

  async markProcessed(source: NoticeSource, id: string, etag: string, at: Date, outcome: NoticeOutcome, contributionKeys: string[], latest: Notice): Promise<boolean> {
    return guardStorage("mark notice processed", async () => {
      try {
        await this.notices.run((t) =>
          t.updateEntity(
            {
              partitionKey: compositeKey(source, id),
              rowKey: SUMMARY,
              state: "processed",
              processedAt: at.toISOString(),
              relevant: outcome.relevant,
              unmatched: outcome.unmatched,
              latestRevision: latest.revision,
              contributionKeys: JSON.stringify(contributionKeys),
              ...encodeDocument("latest", JSON.stringify(latest)),
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
          t.updateEntity({ partitionKey: compositeKey(source, id), rowKey: SUMMARY, contributionKeys: JSON.stringify(keys) }, "Merge", { etag }),
        );
        return result.etag;
      } catch (error) {
        if (isStatus(error, 412)) return undefined;
        throw error;
      }
    });
  }

  async *listNotices(filter: { unmatched?: boolean }): AsyncIterable<NoticeRecord> {
    const query = filter.unmatched === undefined
      ? odata`RowKey eq ${SUMMARY}`
      : odata`RowKey eq ${SUMMARY} and unmatched eq ${filter.unmatched}`;
    for await (const entity of this.notices.entities<Entity>("list notices", { filter: query })) yield toRecord(entity);
  }

  async *listPending(before: Date): AsyncIterable<NoticeRecord> {
    const filter = odata`RowKey eq ${SUMMARY} and state eq ${"pending"} and updatedAt lt ${before.toISOString()}`;
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
  const outcome = decodeDocument("outcome", entity);
  const latest = decodeDocument("latest", entity);
  const keys: unknown = typeof entity.contributionKeys === "string" ? JSON.parse(entity.contributionKeys) : [];
  return {
    source: NoticeSourceSchema.parse(entity.source),
    id: String(entity.noticeId),
    lastRevision: String(entity.lastRevision),
    title: String(entity.lastTitle),
    publishedAt: String(entity.lastPublishedAt),
    synthetic: entity.lastSynthetic === true,
    state: entity.state === "processed" ? "processed" : "pending",
    updatedAt: String(entity.updatedAt),
    etag: entity.etag,
    contributionKeys: z.array(z.string()).parse(keys),
    ...(latest === undefined ? {} : { latest: NoticeSchema.parse(JSON.parse(latest)) }),
    ...(outcome === undefined ? {} : { outcome: NoticeOutcomeSchema.parse(JSON.parse(outcome)) }),
    ...(typeof entity.processedAt === "string" ? { processedAt: entity.processedAt } : {}),
  };
}

function toRevision(entity: Entity): StoredRevision {
  return {
    notice: readNotice(entity, "notice"),
    receivedAt: String(entity.receivedAt),
  };
}
