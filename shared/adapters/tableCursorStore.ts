import { odata } from "@azure/data-tables";
import type { PollStatusStore, TenantPollFailure, TenantPollStatus, WatermarkStore } from "../app/pollServiceHealth.js";
import { escapeKey, unescapeKey } from "../domain/tableKey.js";
import type { StorageAccount } from "./storageAccount.js";
import { guardStorage, isStatus } from "./storageErrors.js";
import { LazyTable, TABLES } from "./tables.js";

const WATERMARK_PARTITION = "m365-watermark";
const STATUS_PARTITION = "m365-status";

type Entity = Record<string, unknown>;

/**
 * Poll cursors in the Cursors table (DESIGN.md "Storage": PK job, RK tenant id): the service-health watermark per
 * tenant (PK `m365-watermark`) and the poller's status per tenant (PK `m365-status`: last success, last error,
 * failures since the last success). A tenant is polled under its lease, so each row has one writer at a time.
 */
export class TableCursorStore implements WatermarkStore, PollStatusStore {
  private readonly table: LazyTable;
  constructor(account: StorageAccount) {
    this.table = new LazyTable(account.table(TABLES.cursors));
  }

  async getWatermark(tenantId: string): Promise<string | undefined> {
    const entity = await guardStorage("read poll watermark", () => this.get(WATERMARK_PARTITION, tenantId));
    return typeof entity?.watermark === "string" && entity.watermark !== "" ? entity.watermark : undefined;
  }

  async setWatermark(tenantId: string, watermark: string): Promise<void> {
    await guardStorage("write poll watermark", () =>
      this.table.run((t) => t.upsertEntity({ partitionKey: WATERMARK_PARTITION, rowKey: key(tenantId), watermark }, "Replace")),
    );
  }

  async recordSuccess(tenantId: string, at: Date): Promise<void> {
    const previous = await guardStorage("read poll status", () => this.get(STATUS_PARTITION, tenantId));
    await this.writeStatus({
      tenantId,
      lastSuccess: at.toISOString(),
      ...(previous ? { lastError: readFailure(previous) } : {}),
      failures: 0,
    });
  }

  async recordFailure(tenantId: string, failure: TenantPollFailure): Promise<void> {
    const previous = await guardStorage("read poll status", () => this.get(STATUS_PARTITION, tenantId));
    const lastSuccess = typeof previous?.lastSuccess === "string" && previous.lastSuccess !== "" ? previous.lastSuccess : undefined;
    await this.writeStatus({
      tenantId,
      ...(lastSuccess ? { lastSuccess } : {}),
      lastError: failure,
      failures: Number(previous?.failures ?? 0) + 1,
    });
  }

  async listStatus(): Promise<TenantPollStatus[]> {
    const out: TenantPollStatus[] = [];
    for await (const e of this.table.entities<Entity>("list poll status", { filter: odata`PartitionKey eq ${STATUS_PARTITION}` })) {
      const lastSuccess = typeof e.lastSuccess === "string" && e.lastSuccess !== "" ? e.lastSuccess : undefined;
      const lastError = readFailure(e);
      out.push({
        tenantId: unescapeKey(String(e.rowKey)),
        ...(lastSuccess ? { lastSuccess } : {}),
        ...(lastError ? { lastError } : {}),
        failures: Number(e.failures ?? 0),
      });
    }
    return out.sort((a, b) => a.tenantId.localeCompare(b.tenantId));
  }

  private async writeStatus(status: TenantPollStatus): Promise<void> {
    await guardStorage("write poll status", () =>
      this.table.run((t) =>
        t.upsertEntity(
          {
            partitionKey: STATUS_PARTITION,
            rowKey: key(status.tenantId),
            lastSuccess: status.lastSuccess ?? "",
            lastErrorAt: status.lastError?.at ?? "",
            lastErrorCode: status.lastError?.code ?? "",
            lastErrorMessage: status.lastError?.message.slice(0, 1000) ?? "",
            failures: status.failures,
          },
          "Replace",
        ),
      ),
    );
  }

  private async get(partitionKey: string, tenantId: string): Promise<Entity | undefined> {
    try {
      return await this.table.run((t) => t.getEntity<Entity>(partitionKey, key(tenantId)));
    } catch (error) {
      if (isStatus(error, 404)) return undefined;
      throw error;
    }
  }
}

function key(tenantId: string): string {
  return escapeKey(tenantId.toLowerCase());
}

function readFailure(e: Entity): TenantPollFailure | undefined {
  if (typeof e.lastErrorAt !== "string" || e.lastErrorAt === "") return undefined;
  const text = (v: unknown): string => (typeof v === "string" ? v : "");
  return { at: e.lastErrorAt, code: text(e.lastErrorCode), message: text(e.lastErrorMessage) };
}
