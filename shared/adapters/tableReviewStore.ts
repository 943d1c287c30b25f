import { createHash } from "node:crypto";
import { gunzipSync, gzipSync } from "node:zlib";
import { odata, type TableEntityResult, type TransactionAction } from "@azure/data-tables";
import type { ContainerClient } from "@azure/storage-blob";
import { z } from "zod";
import { CONTROL_TYPES, type ControlType } from "../app/ledgerPorts.js";
import { CONTROL_STATES, controlSummary, type ControlRow, type ControlRunStore, type ControlState, type ControlSummary, type FindingStore } from "../app/reviewPorts.js";
import { FindingSchema, type Finding } from "../domain/finding.js";
import { LogSourceIdSchema } from "../domain/logSource.js";
import { compositeKey, escapeKey, unescapeKey } from "../domain/tableKey.js";
import { CHUNK_BYTES, clearDocument, decodeDocument, encodeDocument, encodeZipped, MAX_CHUNKS } from "./entityCodec.js";
import { LazyContainer } from "./blobContainers.js";
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
  const detector = decodeDocument("ds", e);
  const detectorRef = typeof e.dsHash === "string" && e.dsHash !== "" ? `${e.dsHash}${e.dsBlob === true ? BLOB_SUFFIX : ""}` : undefined;
  return {
    ...summary,
    urgency: planned.urgency ?? planned.reviewDeadline,
    ...(planned.leaseOwner ? { leaseOwner: planned.leaseOwner } : {}),
    ...(planned.leaseUntil ? { leaseUntil: planned.leaseUntil } : {}),
    ...(checkpoint !== undefined ? { checkpoint: JSON.parse(checkpoint) as unknown } : {}),
    ...(detector !== undefined ? { detector: JSON.parse(detector) as unknown } : {}),
    ...(detectorRef ? { detectorRef } : {}),
    etag: e.etag,
  };
}

/** A detector reference naming a blob ends with this (the row holds the state's hash only). */
const BLOB_SUFFIX = "@blob";

/** The content hash of a detector reference, and whether the state is in Blob. */
function parseRef(ref: string | undefined): { hash: string; inBlob: boolean } | undefined {
  if (!ref) return undefined;
  const inBlob = ref.endsWith(BLOB_SUFFIX);
  return { hash: inBlob ? ref.slice(0, -BLOB_SUFFIX.length) : ref, inBlob };
}

export interface DetectorStateOptions {
  /** Blob container for detector state too large for the row (the review spool's, under `detector-state/`). */
  container: string;
  /** Largest gzip size kept in the row (default 240 KiB: the checkpoint and summary share the row's 1 MiB). */
  inlineMaxBytes?: number;
}

const DEFAULT_INLINE_MAX = 4 * CHUNK_BYTES;

function summaryOf(row: ControlSummary): ControlSummary {
  return SummarySchema.parse(row);
}

/**
 * Controls rows (PK tenant, RK window~control), as written by TableControlPlanner, for the control runner: leases
 * and checkpoints are conditional writes on the row's ETag, so two workers never both advance one control. The
 * checkpoint lives in the row itself (gzip, chunked: entityCodec), so progress and checkpoint change atomically.
 *
 * The detector state (per user and IP: large for a large tenant) is a second document, written only when its
 * content hash changes. Up to `inlineMaxBytes` gzip it is in the row too; larger, it is a content-addressed blob
 * (`detector-state/<tenant>/<window>/<control>/<sha256>.json.gz`) written before the row that names it, so a crash
 * between the two leaves an unreferenced blob, never a row naming a missing one. The blob a row stops naming is
 * deleted after the write; when the control finishes, every blob but the one it names is.
 */
export class TableControlStore implements ControlRunStore {
  private readonly table: LazyTable;
  private readonly inlineMax: number;
  private readonly blobs: LazyContainer;

  constructor(account: StorageAccount, detectorState: DetectorStateOptions) {
    this.table = new LazyTable(account.table(LEDGER_TABLES.controls));
    this.inlineMax = detectorState.inlineMaxBytes ?? DEFAULT_INLINE_MAX;
    this.blobs = new LazyContainer(account, detectorState.container);
  }

  private get container(): ContainerClient {
    return this.blobs.container;
  }

  async *listControls(tenantId: string, windowId?: string): AsyncIterable<ControlSummary> {
    const pk = escapeKey(tenantId);
    const filter = windowId === undefined ? odata`PartitionKey eq ${pk}` : odata`PartitionKey eq ${pk} and windowId eq ${windowId}`;
    for await (const e of this.table.entities<Entity>("list controls", { filter })) {
      yield controlSummary(toRow(e));
    }
  }

  async get(tenantId: string, windowId: string, control: ControlType): Promise<ControlRow | undefined> {
    const entity = await guardStorage("read control", async () => {
      try {
        return await this.table.run((t) => t.getEntity<Entity>(escapeKey(tenantId), compositeKey(windowId, control)));
      } catch (error) {
        if (isStatus(error, 404)) return undefined;
        throw error;
      }
    });
    return entity && this.withDetector(toRow(entity));
  }

  async *listUnfinished(): AsyncIterable<ControlRow> {
    const filter = odata`state eq ${"planned"} or state eq ${"running"}`;
    for await (const e of this.table.entities<Entity>("list unfinished controls", { filter })) yield toRow(e);
  }

  async claim(row: ControlRow, owner: string, leaseUntil: Date, at: Date): Promise<ControlRow | undefined> {
    const summary: ControlSummary = { ...summaryOf(controlSummary(row)), state: "running", startedAt: row.startedAt ?? at.toISOString() };
    const claimed = await this.write(row, { state: "running", leaseOwner: owner, leaseUntil: leaseUntil.toISOString(), waitingUntil: "", ...encodeDocument("sum", JSON.stringify(summary)) });
    return claimed && this.withDetector(claimed);
  }

  async save(row: ControlRow, update: { summary: ControlSummary; checkpoint?: unknown; detector?: unknown; urgency: string; leaseUntil?: Date; waiting?: boolean }): Promise<ControlRow | undefined> {
    const summary = summaryOf(update.summary);
    const finished = summary.state !== "running" && summary.state !== "planned";
    const leaseUntil = finished ? "" : (update.leaseUntil?.toISOString() ?? row.leaseUntil ?? "");
    const columns: Record<string, unknown> = {
      state: summary.state,
      urgency: update.urgency,
      leaseOwner: finished ? "" : (row.leaseOwner ?? ""),
      leaseUntil,
      // The planner ends a wait (clears the lease) when it moves the window's bounds; a worker's lease it leaves alone.
      waitingUntil: update.waiting === true && !finished ? leaseUntil : "",
      ...encodeDocument("sum", JSON.stringify(summary)),
    };
    if (update.checkpoint !== undefined) Object.assign(columns, encodeDocument("cp", JSON.stringify(update.checkpoint), { clearTo: MAX_CHUNKS }));
    const before = parseRef(row.detectorRef);
    let detectorRef = row.detectorRef;
    if (update.detector !== undefined) {
      const json = JSON.stringify(update.detector);
      const hash = createHash("sha256").update(json).digest("hex");
      if (hash !== before?.hash) {
        const zipped = gzipSync(Buffer.from(json, "utf8"));
        if (zipped.length <= this.inlineMax) {
          detectorRef = hash;
          Object.assign(columns, encodeZipped("ds", zipped, { clearTo: MAX_CHUNKS }), { dsHash: hash, dsBlob: false });
        } else {
          detectorRef = `${hash}${BLOB_SUFFIX}`;
          await this.upload(this.blobPath(row, hash), zipped);
          Object.assign(columns, clearDocument("ds", MAX_CHUNKS), { dsHash: hash, dsBlob: true });
        }
      }
    }
    let current = row;
    for (let attempt = 0; attempt < 5; attempt++) {
      const written = await this.write(current, columns);
      if (written) {
        // The caller holds the detector state it saved: no need to read a spilled one back.
        const detector = update.detector !== undefined ? update.detector : row.detector;
        const saved: ControlRow = { ...written, ...(detector !== undefined ? { detector } : {}), ...(detectorRef ? { detectorRef } : {}) };
        const after = parseRef(detectorRef);
        if (isFinished(summary.state)) await this.dropBlobs(row, after?.inBlob ? after.hash : undefined);
        else if (before?.inBlob && before.hash !== after?.hash) await this.dropBlob(this.blobPath(row, before.hash));
        return saved;
      }
      // The ETag moved. The planner refreshes a row's bounds while it runs (a new revision of the notice): that
      // does not take the lease away. Only another owner (a takeover after the lease expired) does.
      const fresh = await this.get(row.tenantId, row.windowId, row.control);
      if (!fresh || (fresh.leaseOwner ?? "") !== (row.leaseOwner ?? "") || fresh.state !== row.state) return undefined;
      // But the run was planned for the bounds it read: "done" under bounds that moved since would leave the new hours
      // unread (the planner re-runs only controls it finds finished).
      // Nor wait under them: the planner ends only a wait it sees, and it wrote before this one.
      if ((summary.state === "done" || update.waiting === true) && (fresh.windowStart !== row.windowStart || fresh.windowEnd !== row.windowEnd)) return undefined;
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

  private blobPrefix(row: Pick<ControlRow, "tenantId" | "windowId" | "control">): string {
    return `detector-state/${escapeKey(row.tenantId)}/${escapeKey(row.windowId)}/${row.control}/`;
  }

  private blobPath(row: Pick<ControlRow, "tenantId" | "windowId" | "control">, hash: string): string {
    return `${this.blobPrefix(row)}${hash}.json.gz`;
  }

  /**
   * The row with its detector state: from the row, or downloaded (and checked against its hash) when spilled. A
   * spilled state that is gone or damaged cannot be resumed from: the row comes back without checkpoint and
   * detector state, so the runner starts the review again (a new generation of evidence names).
   */
  private async withDetector(row: ControlRow): Promise<ControlRow> {
    const ref = parseRef(row.detectorRef);
    if (!ref?.inBlob) return row;
    const { hash } = ref;
    const zipped = await guardStorage("read detector state", async () => {
      try {
        return await this.container.getBlockBlobClient(this.blobPath(row, hash)).downloadToBuffer(0, undefined, { maxRetryRequestsPerBlock: 3 });
      } catch (error) {
        if (isStatus(error, 404)) return undefined;
        throw error;
      }
    });
    const json = zipped && gunzipOrUndefined(zipped);
    if (json === undefined || createHash("sha256").update(json).digest("hex") !== hash) {
      const { checkpoint: _c, detector: _d, detectorRef: _r, ...rest } = row;
      return rest;
    }
    return { ...row, detector: JSON.parse(json) as unknown };
  }

  private async upload(path: string, zipped: Buffer): Promise<void> {
    const blob = this.container.getBlockBlobClient(path);
    await guardStorage("write detector state", () => this.blobs.write(() => blob.upload(zipped, zipped.length, { blobHTTPHeaders: { blobContentType: "application/gzip" } })));
  }

  /** Deletes a blob no row names any more; a failure leaves it behind (it is never read), nothing else. */
  private async dropBlob(path: string): Promise<void> {
    try {
      await this.container.getBlockBlobClient(path).deleteIfExists();
    } catch {
      // Left behind: unreferenced, and deleted with the rest when the control finishes.
    }
  }

  /** Every detector-state blob of a finished control but the one its row names (`keep`). */
  private async dropBlobs(row: ControlRow, keep: string | undefined): Promise<void> {
    const keepPath = keep === undefined ? undefined : this.blobPath(row, keep);
    try {
      for await (const blob of this.container.listBlobsFlat({ prefix: this.blobPrefix(row) })) {
        if (blob.name !== keepPath) await this.dropBlob(blob.name);
      }
    } catch {
      // Nothing listed (no container yet) or the listing failed: leftovers stay unreferenced.
    }
  }
}

function gunzipOrUndefined(zipped: Buffer): string | undefined {
  try {
    return gunzipSync(zipped).toString("utf8");
  } catch {
    return undefined;
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
