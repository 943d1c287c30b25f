import type { ListTableEntitiesOptions, TableClient, TableEntityResult } from "@azure/data-tables";
import { guardStorage, isStatus, storageErrorInfo } from "./storageErrors.js";

/** Table names (DESIGN.md "Storage"). */
export const TABLES = {
  notices: "Notices",
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

  /**
   * Pages of a query, streamed (STYLE.md habit 7); an outage while paging becomes StorageUnavailableError like any
   * other storage call.
   */
  async *pages<E extends object>(operation: string, queryOptions: ListTableEntitiesOptions["queryOptions"] = {}, maxPageSize = 1000): AsyncIterable<TableEntityResult<E>[]> {
    await guardStorage(operation, () => this.run(() => Promise.resolve()));
    const open = (): AsyncIterator<TableEntityResult<E>[]> =>
      this.client.listEntities<E>({ queryOptions }).byPage({ maxPageSize })[Symbol.asyncIterator]();
    let iterator = open();
    let first = true;
    for (;;) {
      const next = await guardStorage(operation, async () => {
        try {
          return await iterator.next();
        } catch (error) {
          // The table vanished under us (an emulator restarted in memory): recreate it and query again.
          if (!first || storageErrorInfo(error).code !== "TableNotFound") throw error;
          this.ready = undefined;
          await this.ensure();
          iterator = open();
          return iterator.next();
        }
      });
      first = false;
      if (next.done) return;
      yield next.value;
    }
  }

  /** Every entity of a query, one page at a time. */
  async *entities<E extends object>(operation: string, queryOptions: ListTableEntitiesOptions["queryOptions"] = {}): AsyncIterable<TableEntityResult<E>> {
    for await (const page of this.pages<E>(operation, queryOptions)) yield* page;
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
