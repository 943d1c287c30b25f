import { odata, type TableEntityResult, type TransactionAction } from "@azure/data-tables";
import type { TenantStore } from "../app/ports.js";
import { TenantProfileSchema, type TenantProfile } from "../domain/tenant.js";
import { escapeKey } from "../domain/tableKey.js";
import { decodeDocument, encodeDocument } from "./entityCodec.js";
import { guardStorage, isStatus } from "./storageErrors.js";
import type { StorageAccount } from "./storageAccount.js";
import { LazyTable, TABLES } from "./tables.js";

type Entity = Record<string, unknown>;

const TENANT_PARTITION = "tenant";
const SUBSCRIPTION_PARTITION = "subscription";

/** A string property holds 64 KiB (32 K UTF-16 characters); longer profiles go through the gzip codec. */
const MAX_INLINE_CHARS = 30_000;
/** Up to this many tenants, stale index rows are found with a filter on their ids; beyond it, one scan is cheaper. */
const MAX_FILTERED_TENANTS = 15;
/** Parallel point reads when resolving subscriptions; beyond MAX_POINT_READS ids, one scan of the index instead. */
const READ_CONCURRENCY = 16;
const MAX_POINT_READS = 64;

function profileEntity(profile: TenantProfile, at: Date): Entity & { partitionKey: string; rowKey: string } {
  const json = JSON.stringify(profile);
  return {
    partitionKey: TENANT_PARTITION,
    rowKey: escapeKey(profile.tenantId),
    // Readable columns for people browsing the table; the profile property is the truth.
    name: profile.name.slice(0, 256),
    licence: profile.licence,
    onboardedAt: profile.onboardedAt,
    subscriptionCount: profile.subscriptions.length,
    updatedAt: at.toISOString(),
    ...(json.length <= MAX_INLINE_CHARS ? { profile: json } : encodeDocument("profile", json)),
  };
}

function readProfile(entity: Entity): TenantProfile {
  const text = typeof entity.profile === "string" ? entity.profile : decodeDocument("profile", entity);
  if (text === undefined) throw new Error(`tenant entity ${String(entity.rowKey)} has no profile`);
  const parsed = TenantProfileSchema.safeParse(JSON.parse(text));
  if (!parsed.success) throw new Error(`tenant entity ${String(entity.rowKey)} holds an invalid profile: ${parsed.error.issues.length} problems`);
  return parsed.data;
}

/** Tenants (PK `tenant`, RK tenant id → profile) and Subscriptions (PK `subscription`, RK subscription id → tenant id). */
export class TableTenantStore implements TenantStore {
  private readonly tenants: LazyTable;
  private readonly subscriptions: LazyTable;

  constructor(account: StorageAccount) {
    this.tenants = new LazyTable(account.table(TABLES.tenants));
    this.subscriptions = new LazyTable(account.table(TABLES.subscriptions));
  }

  async get(tenantId: string): Promise<TenantProfile | undefined> {
    const entity = await guardStorage("read tenant", () => getOptional(this.tenants, TENANT_PARTITION, escapeKey(tenantId.toLowerCase())));
    return entity ? readProfile(entity) : undefined;
  }

  async *list(): AsyncIterable<TenantProfile> {
    const filter = odata`PartitionKey eq ${TENANT_PARTITION}`;
    for await (const page of this.pages(this.tenants, "list tenants", filter)) {
      for (const entity of page) yield readProfile(entity);
    }
  }

  async putMany(profiles: TenantProfile[], at: Date): Promise<void> {
    if (profiles.length === 0) return;
    // 1. Profiles: the truth. A crash after this step leaves at most a stale index, which the next put repairs.
    await this.submit(this.tenants, "write tenants", profiles.map((p): TransactionAction => ["upsert", profileEntity(p, at), "Replace"]));

    // 2. The subscription index: upserting re-points a subscription that moved from another tenant.
    const owners = new Map<string, string>();
    for (const p of profiles) for (const s of p.subscriptions) owners.set(escapeKey(s), p.tenantId);
    await this.submit(
      this.subscriptions,
      "write subscription index",
      [...owners].map(([rowKey, tenantId]): TransactionAction => [
        "upsert",
        { partitionKey: SUBSCRIPTION_PARTITION, rowKey, tenantId, updatedAt: at.toISOString() },
        "Replace",
      ]),
    );

    // 3. Index rows still pointing to these tenants for subscriptions they no longer have.
    const written = new Set(profiles.map((p) => p.tenantId));
    const ids = [...written];
    const byTenant = ids.length <= MAX_FILTERED_TENANTS ? ` and (${ids.map((id) => odata`tenantId eq ${id}`).join(" or ")})` : "";
    const filter = `${odata`PartitionKey eq ${SUBSCRIPTION_PARTITION}`}${byTenant}`;
    const stale: TransactionAction[] = [];
    for await (const page of this.pages(this.subscriptions, "read subscription index", filter, ["RowKey", "tenantId"])) {
      for (const { rowKey, tenantId } of page) {
        if (rowKey !== undefined && typeof tenantId === "string" && written.has(tenantId) && !owners.has(rowKey)) {
          stale.push(["delete", { partitionKey: SUBSCRIPTION_PARTITION, rowKey }]);
        }
      }
    }
    await this.submit(this.subscriptions, "remove stale subscription index rows", stale);
  }

  async tenantsForSubscriptions(subscriptionIds: string[]): Promise<Map<string, string>> {
    const ids = [...new Set(subscriptionIds.map((s) => s.toLowerCase()))];
    const found = new Map<string, string>();
    if (ids.length > MAX_POINT_READS) {
      // A large import asks about most of the index: one scan of the partition beats thousands of point reads.
      const wanted = new Map(ids.map((id) => [escapeKey(id), id]));
      const filter = odata`PartitionKey eq ${SUBSCRIPTION_PARTITION}`;
      for await (const page of this.pages(this.subscriptions, "read subscription index", filter, ["RowKey", "tenantId"])) {
        for (const { rowKey, tenantId } of page) {
          const id = rowKey === undefined ? undefined : wanted.get(rowKey);
          if (id !== undefined && typeof tenantId === "string") found.set(id, tenantId);
        }
      }
      return found;
    }
    for (let i = 0; i < ids.length; i += READ_CONCURRENCY) {
      const slice = ids.slice(i, i + READ_CONCURRENCY);
      const rows = await guardStorage("read subscription index", () =>
        Promise.all(slice.map((id) => getOptional(this.subscriptions, SUBSCRIPTION_PARTITION, escapeKey(id), ["tenantId"]))),
      );
      rows.forEach((row, j) => {
        const id = slice[j];
        if (id !== undefined && typeof row?.tenantId === "string") found.set(id, row.tenantId);
      });
    }
    return found;
  }

  private async submit(table: LazyTable, operation: string, actions: TransactionAction[]): Promise<void> {
    await table.submitTransactions(operation, actions);
  }

  /** Pages of a query; an outage while paging becomes StorageUnavailableError like any other storage call. */
  private pages(table: LazyTable, operation: string, filter: string, select?: string[]): AsyncIterable<TableEntityResult<Entity>[]> {
    return table.pages<Entity>(operation, { filter, ...(select ? { select } : {}) });
  }
}

async function getOptional(table: LazyTable, partitionKey: string, rowKey: string, select?: string[]): Promise<TableEntityResult<Entity> | undefined> {
  try {
    return await table.run((t) => t.getEntity<Entity>(partitionKey, rowKey, select ? { queryOptions: { select } } : {}));
  } catch (error) {
    if (isStatus(error, 404)) return undefined;
    throw error;
  }
}
