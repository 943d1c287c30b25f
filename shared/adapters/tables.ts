import type { TableClient } from "@azure/data-tables";
import { isStatus, storageErrorInfo } from "./storageErrors.js";

/** Table names (DESIGN.md "Storage"). */
export const TABLES = {
  notices: "Notices",
  noticeRevisions: "NoticeRevisions",
  cursors: "Cursors",
  tenants: "Tenants",
  subscriptions: "Subscriptions",
} as const;

/**
 * A table that creates itself on first use: creating a table that exists is not an error in @azure/data-tables,
 * and a table that disappears (Azurite restarted in memory) is recreated on the next call that finds it missing.
 */
export class LazyTable {
  private ready: Promise<void> | undefined;
  constructor(readonly client: TableClient) {}

  async run<T>(call: (client: TableClient) => Promise<T>): Promise<T> {
    await this.ensure();
    try {
      return await call(this.client);
    } catch (error) {
      if (storageErrorInfo(error).code === "TableNotFound") {
        this.ready = undefined;
        await this.ensure();
        return call(this.client);
      }
      throw error;
    }
  }

  private ensure(): Promise<void> {
    this.ready ??= this.client.createTable().catch((error: unknown) => {
      this.ready = undefined;
      throw error;
    });
    return this.ready;
  }
}

export { isStatus };
