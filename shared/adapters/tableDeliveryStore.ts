import { odata } from "@azure/data-tables";
import { z } from "zod";
import { DELIVERY_STATES, type Delivery, type DeliveryStore } from "../app/taskPorts.js";
import { DeliveryKeySchema, type DeliveryKey } from "../domain/task.js";
import { escapeKey } from "../domain/tableKey.js";
import type { StorageAccount } from "./storageAccount.js";
import { guardStorage, isStatus } from "./storageErrors.js";
import { LazyTable } from "./tables.js";

export const DELIVERIES_TABLE = "Deliveries";

type Entity = Record<string, unknown> & { partitionKey: string; rowKey: string };

const text = z.string().optional().transform((v) => (v === "" ? undefined : v));

/** A Deliveries row read back: plain columns (small rows, readable in Storage Explorer), empty strings for absent values. */
const RowSchema = z.looseObject({
  taskId: z.string(),
  key: DeliveryKeySchema,
  tenantId: z.string(),
  state: z.enum(DELIVERY_STATES),
  wantedHash: z.string(),
  sentHash: text,
  externalId: text,
  sentAt: text,
  attempts: z.coerce.number().int().min(0),
  lastError: text,
  lastAttemptAt: text,
  claimedUntil: text,
  nextAttemptAt: text,
  plannerCreateStartedAt: text,
  plannerChecklistIds: text,
  updatedAt: z.string(),
});

function toEntity(d: Delivery): Entity {
  return {
    partitionKey: escapeKey(d.taskId),
    rowKey: d.key,
    taskId: d.taskId,
    key: d.key,
    tenantId: d.tenantId,
    state: d.state,
    wantedHash: d.wantedHash,
    sentHash: d.sentHash ?? "",
    externalId: d.externalId ?? "",
    sentAt: d.sentAt ?? "",
    attempts: d.attempts,
    // One line, bounded: a reason is for people, never a payload (and never a secret: channels build it).
    lastError: (d.lastError ?? "").replace(/\s+/gu, " ").slice(0, 1000),
    lastAttemptAt: d.lastAttemptAt ?? "",
    claimedUntil: d.claimedUntil ?? "",
    nextAttemptAt: d.nextAttemptAt ?? "",
    plannerCreateStartedAt: d.plannerCreateStartedAt ?? "",
    plannerChecklistIds: d.plannerChecklistIds ? JSON.stringify(d.plannerChecklistIds) : "",
    updatedAt: d.updatedAt,
  };
}

function fromEntity(e: Record<string, unknown>): Delivery {
  const r = RowSchema.parse(e);
  const ids = r.plannerChecklistIds === undefined ? undefined : z.array(z.string()).parse(JSON.parse(r.plannerChecklistIds));
  const out: Delivery = { taskId: r.taskId, key: r.key, tenantId: r.tenantId, state: r.state, wantedHash: r.wantedHash, attempts: r.attempts, updatedAt: r.updatedAt };
  if (r.sentHash !== undefined) out.sentHash = r.sentHash;
  if (r.externalId !== undefined) out.externalId = r.externalId;
  if (r.sentAt !== undefined) out.sentAt = r.sentAt;
  if (r.lastError !== undefined) out.lastError = r.lastError;
  if (r.lastAttemptAt !== undefined) out.lastAttemptAt = r.lastAttemptAt;
  if (r.claimedUntil !== undefined) out.claimedUntil = r.claimedUntil;
  if (r.nextAttemptAt !== undefined) out.nextAttemptAt = r.nextAttemptAt;
  if (r.plannerCreateStartedAt !== undefined) out.plannerCreateStartedAt = r.plannerCreateStartedAt;
  if (ids !== undefined) out.plannerChecklistIds = ids;
  return out;
}

/** The Deliveries outbox (PK task id, RK channel or escalation kind), written with ETags. */
export class TableDeliveryStore implements DeliveryStore {
  private readonly table: LazyTable;
  constructor(account: StorageAccount) {
    this.table = new LazyTable(account.table(DELIVERIES_TABLE));
  }

  async get(taskId: string, key: DeliveryKey): Promise<{ delivery: Delivery; etag: string } | undefined> {
    return guardStorage("read delivery", async () => {
      try {
        const e = await this.table.run((t) => t.getEntity<Entity>(escapeKey(taskId), key));
        return { delivery: fromEntity(e), etag: e.etag };
      } catch (error) {
        if (isStatus(error, 404)) return undefined;
        throw error;
      }
    });
  }

  async put(delivery: Delivery, etag: string | undefined): Promise<boolean> {
    const entity = toEntity(delivery);
    return guardStorage("write delivery", async () => {
      try {
        if (etag === undefined) await this.table.run((t) => t.createEntity(entity));
        else await this.table.run((t) => t.updateEntity(entity, "Replace", { etag }));
        return true;
      } catch (error) {
        if (isStatus(error, 409) || isStatus(error, 412) || isStatus(error, 404)) return false;
        throw error;
      }
    });
  }

  async listForTask(taskId: string): Promise<Delivery[]> {
    const out: Delivery[] = [];
    for await (const e of this.table.entities<Entity>("list deliveries", { filter: odata`PartitionKey eq ${escapeKey(taskId)}` })) out.push(fromEntity(e));
    return out;
  }

  async *listPending(before: Date): AsyncIterable<Delivery> {
    const filter = odata`state eq ${"pending"} and updatedAt lt ${before.toISOString()}`;
    for await (const e of this.table.entities<Entity>("list pending deliveries", { filter })) yield fromEntity(e);
  }
}
