import { odata } from "@azure/data-tables";
import type { TaskStore } from "../app/taskPorts.js";
import { TaskSchema, type Task, type TaskStatus } from "../domain/task.js";
import { escapeKey } from "../domain/tableKey.js";
import { decodeDocument, encodeDocument } from "./entityCodec.js";
import type { StorageAccount } from "./storageAccount.js";
import { guardStorage, isStatus } from "./storageErrors.js";
import { LazyTable } from "./tables.js";

export const TASKS_TABLE = "Tasks";

type Entity = Record<string, unknown> & { partitionKey: string; rowKey: string };

/** The columns queries filter on, beside the task document itself. */
function toEntity(task: Task): Entity {
  return {
    partitionKey: escapeKey(task.tenantId),
    rowKey: escapeKey(task.id),
    kind: task.kind,
    windowId: task.windowId,
    source: task.source,
    status: task.status,
    dueDate: task.dueDate,
    title: task.title,
    updatedAt: task.updatedAt,
    ...encodeDocument("doc", JSON.stringify(task)),
  };
}

function fromEntity(e: Record<string, unknown>): Task {
  return TaskSchema.parse(JSON.parse(decodeDocument("doc", e) ?? "null"));
}

/** Tasks (PK tenant, RK task id) in Table Storage, written with ETags (read-modify-write, DESIGN.md "Storage"). */
export class TableTaskStore implements TaskStore {
  private readonly table: LazyTable;
  constructor(account: StorageAccount) {
    this.table = new LazyTable(account.table(TASKS_TABLE));
  }

  async get(tenantId: string, id: string): Promise<{ task: Task; etag: string } | undefined> {
    return guardStorage("read task", async () => {
      try {
        const e = await this.table.run((t) => t.getEntity<Entity>(escapeKey(tenantId), escapeKey(id)));
        return { task: fromEntity(e), etag: e.etag };
      } catch (error) {
        if (isStatus(error, 404)) return undefined;
        throw error;
      }
    });
  }

  async findByWindow(tenantId: string, windowId: string): Promise<{ task: Task; etag: string } | undefined> {
    const filter = odata`PartitionKey eq ${escapeKey(tenantId)} and windowId eq ${windowId}`;
    for await (const e of this.table.entities<Entity>("find task by window", { filter })) return { task: fromEntity(e), etag: e.etag };
    return undefined;
  }

  async create(task: Task): Promise<boolean> {
    return guardStorage("create task", async () => {
      try {
        await this.table.run((t) => t.createEntity(toEntity(task)));
        return true;
      } catch (error) {
        if (isStatus(error, 409)) return false;
        throw error;
      }
    });
  }

  async replace(task: Task, etag: string): Promise<boolean> {
    return guardStorage("update task", async () => {
      try {
        await this.table.run((t) => t.updateEntity(toEntity(task), "Replace", { etag }));
        return true;
      } catch (error) {
        if (isStatus(error, 412) || isStatus(error, 404)) return false;
        throw error;
      }
    });
  }

  async *listTenant(tenantId: string, filter: { source?: string } = {}): AsyncIterable<{ task: Task; etag: string }> {
    const clauses = [odata`PartitionKey eq ${escapeKey(tenantId)}`];
    if (filter.source !== undefined) clauses.push(odata`source eq ${filter.source}`);
    for await (const e of this.table.entities<Entity>("list tasks", { filter: clauses.join(" and ") })) yield { task: fromEntity(e), etag: e.etag };
  }

  async *list(filter: { tenantId?: string; status?: TaskStatus; notDone?: boolean }): AsyncIterable<Task> {
    const clauses: string[] = [];
    if (filter.tenantId !== undefined) clauses.push(odata`PartitionKey eq ${escapeKey(filter.tenantId)}`);
    if (filter.status !== undefined) clauses.push(odata`status eq ${filter.status}`);
    if (filter.notDone) clauses.push(odata`status ne ${"done"}`);
    const query = clauses.length > 0 ? { filter: clauses.join(" and ") } : {};
    for await (const e of this.table.entities<Entity>("list tasks", query)) yield fromEntity(e);
  }
}
