/**
 * Issue 3's benchmark: assessments per second over the notice corpus, matching 10,000 tenants against 100 notices
 * (target < 1 s), and ledger writes batched by partition vs one write per row, measured in the same run against the
 * same embedded Azurite.
 */
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { performance } from "node:perf_hooks";
import { TableClient, type TableTransaction } from "@azure/data-tables";
import { EmbeddedAzurite } from "../../local/azurite.js";
import { assessNotice } from "../../shared/domain/assessNotice.js";
import { foldNotice, matchTenants, type MatchableTenant, type NoticeImpact } from "../../shared/domain/blindWindow.js";
import { LOG_SOURCE_IDS } from "../../shared/domain/logSource.js";
import { parseNoticeDocument } from "../../shared/domain/noticeDocument.js";
import type { Notice } from "../../shared/domain/notice.js";
import type { BenchReport } from "./stats.js";

const fixtures = path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "fixtures");

function corpus(): Notice[] {
  const files = [
    ...readdirSync(path.join(fixtures, "notices")).filter((f) => f.endsWith(".json") && f !== "expected.json").map((f) => path.join(fixtures, "notices", f)),
    ...readdirSync(path.join(fixtures, "incident-2024-09")).map((f) => path.join(fixtures, "incident-2024-09", f)),
  ];
  const out: Notice[] = [];
  for (const file of files) {
    const parsed = parseNoticeDocument(JSON.parse(readFileSync(file, "utf8")), new Date("2024-10-01T00:00:00Z"));
    if (parsed.ok) out.push(parsed.notice);
  }
  return out;
}

/** A deterministic pseudo-random sequence (mulberry32) so every run matches the same tenants. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const REGIONS = ["West Europe", "North Europe", "East US", "West US 2", "Australia East", "Japan East", "UK South", "Global"];

function guid(r: () => number): string {
  const hex = (n: number): string => Array.from({ length: n }, () => Math.floor(r() * 16).toString(16)).join("");
  return `${hex(8)}-${hex(4)}-4${hex(3)}-a${hex(3)}-${hex(12)}`;
}

export async function runLedgerBench(options: { quick: boolean }): Promise<BenchReport> {
  const notes: string[] = [];
  const notices = corpus();

  // 1. Assessments per second.
  const rounds = options.quick ? 20 : 200;
  const t0 = performance.now();
  let relevant = 0;
  for (let i = 0; i < rounds; i++) for (const n of notices) if (assessNotice(n).relevant) relevant++;
  const assessMs = performance.now() - t0;
  const assessments = rounds * notices.length;

  // 2. Matching 10,000 tenants against 100 notices.
  const r = random(42);
  const tenants: MatchableTenant[] = [];
  const owners = new Map<string, string>();
  for (let i = 0; i < 10_000; i++) {
    const id = guid(r);
    const subs = Array.from({ length: 1 + Math.floor(r() * 3) }, () => guid(r));
    for (const s of subs) owners.set(s, id);
    tenants.push({
      tenantId: id,
      regions: [REGIONS[Math.floor(r() * (REGIONS.length - 1))] ?? "West Europe"],
      logSources: LOG_SOURCE_IDS.filter(() => r() < 0.5),
      onboardedAt: "2024-01-01T00:00:00.000Z",
    });
  }
  const allSubs = [...owners.keys()];
  const impacts: NoticeImpact[] = [];
  const relevantCorpus = notices.map((n) => ({ notice: n, assessment: assessNotice(n) })).filter((a) => a.assessment.relevant);
  for (let i = 0; i < 100; i++) {
    const base = relevantCorpus[i % relevantCorpus.length];
    if (!base) break;
    const kind = i % 3;
    const notice: Notice = {
      ...base.notice,
      id: `bench-${i}`,
      source: kind === 0 ? "azure-monitor" : kind === 1 ? "manual" : "m365",
      subscriptionIds: kind === 0 ? Array.from({ length: 2000 }, () => allSubs[Math.floor(r() * allSubs.length)] ?? "") : [],
      regions: kind === 0 ? [REGIONS[i % REGIONS.length] ?? "Global"] : [],
      tenantIds: kind === 2 ? [tenants[i]?.tenantId ?? ""] : [],
    };
    const impact = foldNotice([{ notice, assessment: base.assessment }]);
    if (impact) impacts.push(impact);
  }
  const t1 = performance.now();
  let matches = 0;
  for (const impact of impacts) matches += matchTenants(impact, tenants, owners).length;
  const matchMs = performance.now() - t1;

  // 3. Ledger writes: one write per row vs transactions of 100 per partition, same rows, same Azurite.
  const rows = options.quick ? 500 : 2000;
  const azurite = await EmbeddedAzurite.start();
  const table = (name: string): TableClient => TableClient.fromConnectionString(azurite.connectionString, name, { allowInsecureConnection: true });
  const single = table("BenchSingle");
  const batched = table("BenchBatched");
  await single.createTable();
  await batched.createTable();
  const partitions = 20; // a few tenants, many windows and controls each
  const entity = (i: number) => ({ partitionKey: `tenant-${i % partitions}`, rowKey: `entra-signin~w${i}`, status: "confirmed", start: "2024-09-02T23:00:00.000Z", end: "", effect: "loss", notices: "azure-monitor~4L44-3F0" });
  const t2 = performance.now();
  for (let i = 0; i < rows; i++) await single.upsertEntity(entity(i), "Replace");
  const singleMs = performance.now() - t2;
  const byPartition = new Map<string, TableTransaction["actions"]>();
  for (let i = 0; i < rows; i++) {
    const e = entity(i);
    const list = byPartition.get(e.partitionKey) ?? [];
    list.push(["upsert", e, "Replace"]);
    byPartition.set(e.partitionKey, list);
  }
  const t3 = performance.now();
  for (const actions of byPartition.values()) for (let i = 0; i < actions.length; i += 100) await batched.submitTransaction(actions.slice(i, i + 100));
  const batchMs = performance.now() - t3;
  await azurite.stop();

  const perSecond = (n: number, ms: number): number => Math.round((n * 1000) / ms);
  notes.push(`corpus: ${notices.length} notices (${relevant / rounds} relevant), assessed ${rounds} times`);
  notes.push(`matching: 10,000 tenants (1–3 subscriptions, one region, ~half the log sources each) × ${impacts.length} notices (a third each Azure Monitor with 2,000 subscriptions, manual unscoped, m365); ${matches} tenant matches`);
  notes.push(`ledger writes: ${rows} Windows-shaped rows over ${partitions} partitions, embedded Azurite in memory, sequential`);
  return {
    name: "ledger",
    title: "Assessment, matching and ledger writes",
    parameters: { quick: options.quick, corpus: notices.length, rounds, tenants: tenants.length, notices: impacts.length, rows, partitions },
    tables: [
      {
        title: "Pure work",
        columns: ["what", "count", "ms", "per second"],
        rows: [
          { what: "assessNotice", count: assessments, ms: Math.round(assessMs), "per second": perSecond(assessments, assessMs) },
          { what: "matchTenants (10,000 tenants)", count: impacts.length, ms: Math.round(matchMs), "per second": perSecond(impacts.length, matchMs) },
        ],
      },
      {
        title: "Ledger writes",
        columns: ["mode", "rows", "ms", "rows/s", "ratio"],
        rows: [
          { mode: "one upsert per row", rows, ms: Math.round(singleMs), "rows/s": perSecond(rows, singleMs), ratio: 1 },
          { mode: "transactions of ≤ 100 per partition", rows, ms: Math.round(batchMs), "rows/s": perSecond(rows, batchMs), ratio: Math.round((singleMs / batchMs) * 10) / 10 },
        ],
      },
    ],
    targets: [{ target: "matching 10,000 tenants against 100 notices under 1 s", met: matchMs < 1000, detail: `${Math.round(matchMs)} ms` }],
    notes,
  };
}

