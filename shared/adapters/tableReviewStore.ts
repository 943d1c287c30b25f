import { odata, type TableEntityResult, type TransactionAction } from "@azure/data-tables";
import { z } from "zod";
import { CONTROL_TYPES, type ControlType } from "../app/ledgerPorts.js";
import { CONTROL_STATES, controlSummary, type ControlRow, type ControlRunStore, type ControlState, type ControlSummary, type FindingStore } from "../app/reviewPorts.js";
import { FindingSchema, type Finding } from "../domain/finding.js";
import { LogSourceIdSchema } from "../domain/logSource.js";
import { compositeKey, escapeKey, unescapeKey } from "../domain/tableKey.js";
import { decodeDocument, encodeDocument } from "./entityCodec.js";
import type { StorageAccount } from "./storageAccount.js";
import { guardStorage, isStatus } from "./storageErrors.js";
import { LazyTable } from "./tables.js";
import { LEDGER_TABLES } from "./tableLedgerStore.js";

export const FINDINGS_TABLE = "Findings";

type Entity = Record<string, unknown> & { partitionKey: string; rowKey: string };

const SummarySchema = z.object({
  tenantId: z.string(),
  windowId: z.string(),
  source: LogSourceIdSchema,
  control: z.enum(CONTROL_TYPES),
  state: z.enum(CONTROL_STATES),
  windowStart: z.string(),
  windowEnd: z.string().nullable(),
  reviewDeadline: z.string(),
  startedAt: z.string().optional(),
  finishedAt: z.string().optional(),
  recordsRead: z.record(z.string(), z.number()),
  pages: z.number(),
  throttledWaits: z.number(),
  durationMs: z.number(),
  coverage: z.object({ reviewedFrom: z.string().nullable(), reviewedTo: z.string().nullable(), lostFrom: z.string().nullable(), lostTo: z.string().nullable() }),
  findings: z.number(),
  hourly: z.record(z.string(), z.number()).optional(),
  evidence: z.object({ manifestPath: z.string(), blobs: z.number(), records: z.number() }).optional(),
  error: z.string().optional(),
});

/** The columns the planner writes (TableControlPlanner), which every row has. */
const PlannedRowSchema = z.looseObject({
  windowId: z.string(),
  control: z.enum(CONTROL_TYPES),
  state: z.enum(CONTROL_STATES),
  source: LogSourceIdSchema,
  start: z.string(),
  end: z.string(),
  reviewDeadline: z.string(),
  urgency: z.string().optional(),
  leaseOwner: z.string().optional(),
  leaseUntil: z.string().optional(),
});

function toRow(e: TableEntityResult<Entity>): ControlRow {
  const planned = PlannedRowSchema.parse(e);
  const tenantId = unescapeKey(e.partitionKey);
  const stored = decodeDocument("sum", e);
  const summary: ControlSummary = stored
    ? SummarySchema.parse(JSON.parse(stored))
    : {
        tenantId,
        windowId: planned.windowId,
        source: planned.source,
        control: planned.control,
        state: planned.state,
        windowStart: planned.start,
        windowEnd: planned.end === "" ? null : planned.end,
        reviewDeadline: planned.reviewDeadline,
        recordsRead: {},
        pages: 0,
        throttledWaits: 0,
        durationMs: 0,
        coverage: { reviewedFrom: null, reviewedTo: null, lostFrom: null, lostTo: null },
        findings: 0,
      };
  // The planner refreshes bounds and state in the columns; they win over an older summary document.
  summary.state = planned.state;
  summary.windowStart = planned.start;
  summary.windowEnd = planned.end === "" ? null : planned.end;
  summary.reviewDeadline = planned.reviewDeadline;
  const checkpoint = decodeDocument("cp", e);
  return {
    ...summary,
    urgency: planned.urgency ?? planned.reviewDeadline,
    ...(planned.leaseOwner ? { leaseOwner: planned.leaseOwner } : {}),
    ...(planned.leaseUntil ? { leaseUntil: planned.leaseUntil } : {}),
    ...(checkpoint !== undefined ? { checkpoint: JSON.parse(checkpoint) as unknown } : {}),
    etag: e.etag,
  };
}

function summaryOf(row: ControlSummary): ControlSummary {
  return SummarySchema.parse(row);
}

/**
 * Controls rows (PK tenant, RK window~control), as written by TableControlPlanner, for the control runner: leases
 * and checkpoints are conditional writes on the row's ETag, so two workers never both advance one control. The
 * checkpoint lives in the row itself (gzip, chunked: entityCodec), so progress and checkpoint change atomically.
 */
export class TableControlStore implements ControlRunStore {
  private readonly table: LazyTable;
  constructor(account: StorageAccount) {
    this.table = new LazyTable(account.table(LEDGER_TABLES.controls));
  }

  async *listControls(tenantId: string, windowId?: string): AsyncIterable<ControlSummary> {
    const pk = escapeKey(tenantId);
    const filter = windowId === undefined ? odata`PartitionKey eq ${pk}` : odata`PartitionKey eq ${pk} and windowId eq ${windowId}`;
    for await (const e of this.table.entities<Entity>("list controls", { filter })) {
      yield controlSummary(toRow(e));
    }
  }

  async get(tenantId: string, windowId: string, control: ControlType): Promise<ControlRow | undefined> {
    return guardStorage("read control", async () => {
      try {
        return toRow(await this.table.run((t) => t.getEntity<Entity>(escapeKey(tenantId), compositeKey(windowId, control))));
      } catch (error) {
        if (isStatus(error, 404)) return undefined;
        throw error;
      }
    });
  }

  async *listUnfinished(): AsyncIterable<ControlRow> {
    const filter = odata`state eq ${"planned"} or state eq ${"running"}`;
    for await (const e of this.table.entities<Entity>("list unfinished controls", { filter })) yield toRow(e);
  }

  async claim(row: ControlRow, owner: string, leaseUntil: Date, at: Date): Promise<ControlRow | undefined> {
    const summary: ControlSummary = { ...summaryOf(controlSummary(row)), state: "running", startedAt: row.startedAt ?? at.toISOString() };
    return this.write(row, { state: "running", leaseOwner: owner, leaseUntil: leaseUntil.toISOString(), ...encodeDocument("sum", JSON.stringify(summary)) });
  }

  async save(row: ControlRow, update: { summary: ControlSummary; checkpoint?: unknown; urgency: string; leaseUntil?: Date }): Promise<ControlRow | undefined> {
    const summary = summaryOf(update.summary);
    const finished = summary.state !== "running" && summary.state !== "planned";
    const columns: Record<string, unknown> = {
      state: summary.state,
      urgency: update.urgency,
      leaseOwner: finished ? "" : (row.leaseOwner ?? ""),
      leaseUntil: finished ? "" : (update.leaseUntil?.toISOString() ?? row.leaseUntil ?? ""),
      ...encodeDocument("sum", JSON.stringify(summary)),
    };
    if (update.checkpoint !== undefined) Object.assign(columns, encodeDocument("cp", JSON.stringify(update.checkpoint)));
    let current = row;
    for (let attempt = 0; attempt < 5; attempt++) {
      const written = await this.write(current, columns);
      if (written) return written;
      // The ETag moved. The planner refreshes a row's bounds while it runs (a new revision of the notice): that
      // does not take the lease away. Only another owner (a takeover after the lease expired) does.
      const fresh = await this.get(row.tenantId, row.windowId, row.control);
      if (!fresh || (fresh.leaseOwner ?? "") !== (row.leaseOwner ?? "") || fresh.state !== row.state) return undefined;
      current = fresh;
    }
    return undefined;
  }

  /** A Merge conditional on the row's ETag; undefined when it changed since (412) or vanished (404). */
  private async write(row: ControlRow, columns: Record<string, unknown>): Promise<ControlRow | undefined> {
    const pk = escapeKey(row.tenantId);
    const rk = compositeKey(row.windowId, row.control);
    return guardStorage("write control", async () => {
      try {
        await this.table.run((t) => t.updateEntity({ partitionKey: pk, rowKey: rk, ...columns }, "Merge", { etag: row.etag }));
      } catch (error) {
        if (isStatus(error, 412) || isStatus(error, 404)) return undefined;
        throw error;
      }
      return toRow(await this.table.run((t) => t.getEntity<Entity>(pk, rk)));
    });
  }
}

/** A control's state column, for callers that only need to know whether it is finished. */
export function isFinished(state: ControlState): boolean {
  return state === "done" || state === "failed" || state === "superseded";
}

/** The Findings table: PK tenant~window, RK finding id; upserts, batched per partition. */
export class TableFindingStore implements FindingStore {
  private readonly table: LazyTable;
  constructor(account: StorageAccount) {
    this.table = new LazyTable(account.table(FINDINGS_TABLE));
  }

  async putFindings(findings: readonly Finding[]): Promise<void> {
    const byPartition = new Map<string, TransactionAction[]>();
    for (const f of findings) {
      const pk = compositeKey(f.tenantId, f.windowId);
      const action: TransactionAction = ["upsert", {
        partitionKey: pk,
        rowKey: escapeKey(f.id),
        tenantId: f.tenantId,
        windowId: f.windowId,
        rule: f.rule,
        severity: f.severity,
        source: f.source,
        subjectKind: f.subject.kind,
        subjectId: f.subject.id,
        firstSeen: f.firstSeen,
        lastSeen: f.lastSeen,
        count: f.count,
        ...encodeDocument("doc", JSON.stringify(f)),
      }, "Replace"];
      const list = byPartition.get(pk);
      if (list) list.push(action);
      else byPartition.set(pk, [action]);
    }
    for (const actions of byPartition.values()) await this.table.submitTransactions("write findings", actions);
  }

  async *listFindings(tenantId: string, windowId?: string): AsyncIterable<Finding> {
    const filter = windowId === undefined ? odata`tenantId eq ${tenantId}` : odata`PartitionKey eq ${compositeKey(tenantId, windowId)}`;
    for await (const e of this.table.entities<Entity>("list findings", { filter })) {
      yield FindingSchema.parse(JSON.parse(decodeDocument("doc", e) ?? "null"));
    }
  }
}
