import { randomUUID } from "node:crypto";
import type { Clock } from "../../app/ports.js";
import { escapeKey, unescapeKey } from "../../domain/tableKey.js";
import type { StorageAccount } from "../storageAccount.js";
import { guardStorage, isStatus } from "../storageErrors.js";
import { LazyTable, TABLES } from "../tables.js";

/**
 * A lease per tenant in the Cursors table (PK `lease`, RK tenant id), so two function instances never spend one
 * tenant's Graph budget at the same time (Graph counts per app per tenant, whichever instance sends). Every change is
 * ETag-guarded: a create that finds a row (409) or an update/delete whose ETag is stale (412) means another holder
 * won. A lease nobody renews expires, so a crashed instance blocks a tenant for at most one lease duration.
 */

export interface TenantLease {
  tenantId: string;
  holder: string;
  expiresAt: string;
  /** ETag of the lease row as this holder last wrote it. */
  etag: string;
}

/** The port the poller uses (shared/app/pollServiceHealth.ts declares the same shape). */
export interface TenantLeases {
  /** The lease, or undefined when another holder has an unexpired one (or won the race for it). */
  acquire(tenantId: string, durationMs: number): Promise<TenantLease | undefined>;
  /** Extends a lease still held; undefined when it was lost (expired and taken by another holder). */
  renew(lease: TenantLease, durationMs: number): Promise<TenantLease | undefined>;
  /** Gives the lease up (no-op when it was lost meanwhile). */
  release(lease: TenantLease): Promise<void>;
}

const PARTITION = "lease";

type LeaseEntity = { partitionKey: string; rowKey: string; holder: string; expiresAt: string };

export class TableTenantLeases implements TenantLeases {
  private readonly table: LazyTable;

  /** `holder` names this instance (default: a random id per process). */
  constructor(account: StorageAccount, private readonly clock: Clock, readonly holder: string = randomUUID()) {
    this.table = new LazyTable(account.table(TABLES.cursors));
  }

  async acquire(tenantId: string, durationMs: number): Promise<TenantLease | undefined> {
    const rowKey = escapeKey(tenantId.toLowerCase());
    const now = this.clock.now();
    const entity: LeaseEntity = { partitionKey: PARTITION, rowKey, holder: this.holder, expiresAt: new Date(now.getTime() + durationMs).toISOString() };
    const current = await guardStorage("read tenant lease", () => this.read(rowKey));
    try {
      let etag: string | undefined;
      if (!current) {
        const created = await guardStorage("create tenant lease", () => this.table.run((t) => t.createEntity(entity)));
        etag = created.etag;
      } else {
        // An unreadable expiry counts as expired: a corrupt row must not block a tenant for ever.
        const free = !(Date.parse(current.expiresAt) > now.getTime()) || current.holder === this.holder;
        if (!free) return undefined;
        const updated = await guardStorage("take tenant lease", () => this.table.run((t) => t.updateEntity(entity, "Replace", { etag: current.etag })));
        etag = updated.etag;
      }
      if (!etag) throw new Error("table storage returned no ETag for the lease");
      return { tenantId: unescapeKey(rowKey), holder: this.holder, expiresAt: entity.expiresAt, etag };
    } catch (error) {
      if (isStatus(error, 409) || isStatus(error, 412)) return undefined;
      throw error;
    }
  }

  async renew(lease: TenantLease, durationMs: number): Promise<TenantLease | undefined> {
    const rowKey = escapeKey(lease.tenantId.toLowerCase());
    const expiresAt = new Date(this.clock.now().getTime() + durationMs).toISOString();
    try {
      const updated = await guardStorage("renew tenant lease", () =>
        this.table.run((t) => t.updateEntity<LeaseEntity>({ partitionKey: PARTITION, rowKey, holder: lease.holder, expiresAt }, "Replace", { etag: lease.etag })),
      );
      if (!updated.etag) throw new Error("table storage returned no ETag for the lease");
      return { ...lease, expiresAt, etag: updated.etag };
    } catch (error) {
      if (isStatus(error, 412) || isStatus(error, 404)) return undefined;
      throw error;
    }
  }

  async release(lease: TenantLease): Promise<void> {
    const rowKey = escapeKey(lease.tenantId.toLowerCase());
    try {
      await guardStorage("release tenant lease", () => this.table.run((t) => t.deleteEntity(PARTITION, rowKey, { etag: lease.etag })));
    } catch (error) {
      if (isStatus(error, 412) || isStatus(error, 404)) return;
      throw error;
    }
  }

  private async read(rowKey: string): Promise<{ holder: string; expiresAt: string; etag: string } | undefined> {
    try {
      const e = await this.table.run((t) => t.getEntity(PARTITION, rowKey));
      return { holder: typeof e.holder === "string" ? e.holder : "", expiresAt: typeof e.expiresAt === "string" ? e.expiresAt : "", etag: e.etag };
    } catch (error) {
      if (isStatus(error, 404)) return undefined;
      throw error;
    }
  }
}
