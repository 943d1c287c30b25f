/**
 * `npm run bench [-- --only NAME] [-- --quick] [-- --part PART]`: runs the benchmarks, each in a process of its own
 * (`--part` runs one part of a benchmark that has several, e.g. `--only review --part throughput`), prints a table per benchmark and writes
 * bench-results/<name>.json (git-ignored) with the machine, Node version, date, parameters and figures.
 * Benchmarks report figures; they never fail on machine speed. The exit code is non-zero only when a benchmark
 * could not run or a request failed (errors must be 0), never because a target was missed.
 */
import { spawn } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { runIntakeBench, type BenchOptions } from "./intake.js";
import { runLedgerBench } from "./ledger.js";
import { runGraphPagingBench } from "./graphPaging.js";
import { runRequestCountBench } from "./requestCounts.js";
import { REVIEW_PARTS, runReviewBench, type ReviewPart } from "./review.js";
import { runDetectionBench } from "./detections.js";
import type { BenchReport, BenchTable } from "./stats.js";

interface Benchmark {
  name: string;
  /** Parts `--part` may choose (a benchmark without parts runs whole). */
  parts?: readonly string[];
  run(options: BenchOptions): Promise<BenchReport>;
}

/** Every benchmark, in run order. Adding one is one line here. */
const BENCHMARKS: Benchmark[] = [
  { name: "intake", run: runIntakeBench },
  { name: "ledger", run: runLedgerBench },
  { name: "graph-paging", run: graphPagingReport },
  { name: "request-counts", run: (options) => runRequestCountBench({ quick: options.quick }) },
  { name: "detections", run: (options) => runDetectionBench({ quick: options.quick }) },
  { name: "review", parts: REVIEW_PARTS, run: (options) => runReviewBench({ quick: options.quick, part: options.part as ReviewPart | undefined }) },
];

/** Adapts the Graph paging benchmark's rows to the common report shape. */
async function graphPagingReport(options: BenchOptions): Promise<BenchReport> {
  const result = await runGraphPagingBench({ quick: options.quick });
  const cell = (v: unknown): string | number | boolean | null =>
    v === undefined || v === null ? null : typeof v === "number" || typeof v === "boolean" || typeof v === "string" ? v : JSON.stringify(v);
  const rows = result.rows.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, cell(v)])));
  const ratios = result.rows.flatMap((r) => (typeof r.ratioToLimit === "number" ? [r.ratioToLimit] : []));
  return {
    name: result.name,
    title: "Graph paging through the adapter: transport floor vs Graph's limits",
    parameters: { quick: options.quick },
    tables: [{ title: "Pages per second", columns: [...new Set(rows.flatMap((r) => Object.keys(r)))], rows }],
    targets: [{ target: "limited rows within 5% of the limit (ratio ≥ 0.95)", met: ratios.length > 0 && ratios.every((r) => r >= 0.95), detail: ratios.map((r) => r.toFixed(3)).join(", ") }],
    notes: result.notes,
  };
}

const resultsDir = path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "..", "bench-results");

function formatTable(table: BenchTable): string {
  const cells = table.rows.map((row) => table.columns.map((c) => {
    const v = row[c];
    return v === null || v === undefined ? "" : String(v);
  }));
  const numeric = table.columns.map((c) => table.rows.every((row) => typeof row[c] === "number" || row[c] === "" || row[c] === null));
  const widths = table.columns.map((c, i) => Math.max(c.length, ...cells.map((r) => (r[i] ?? "").length)));
  const line = (values: string[]): string =>
    values.map((v, i) => (numeric[i] ? v.padStart(widths[i] ?? 0) : v.padEnd(widths[i] ?? 0))).join(" │ ").trimEnd();
  return [table.title, line(table.columns), widths.map((w) => "─".repeat(w)).join("─┼─"), ...cells.map(line)].join("\n");
}

function machine(): Record<string, unknown> {
  const cpus = os.cpus();
  return {
    hostname: os.hostname(),
    platform: `${os.type()} ${os.release()} ${os.arch()}`,
    cpus: cpus.length,
    cpuModel: cpus[0]?.model ?? "unknown",
    totalMemoryMiB: Math.round(os.totalmem() / 1024 / 1024),
    loadAverage: os.loadavg().map((l) => Math.round(l * 100) / 100),
  };
}

/** Peak heap used, sampled while a benchmark runs (the process peak RSS comes from resourceUsage). */
function sampleHeap(): { stop(): number } {
  let peak = process.memoryUsage().heapUsed;
  const timer = setInterval(() => { peak = Math.max(peak, process.memoryUsage().heapUsed); }, 50);
  timer.unref();
  return { stop() { clearInterval(timer); return Math.max(peak, process.memoryUsage().heapUsed); } };
}

/**
 * A full run: each benchmark in a process of its own, one after the other. In one process a benchmark inherited the
 * heap and peak RSS of the ones before it: after the intake benchmark (thousands of requests, Azurite's worker
 * backlog) the Graph paging benchmark's 200 ms throttle windows met collector pauses, and its figures and the peak
 * RSS it printed were partly the intake's. Exit code: non-zero when any of them failed.
 */
async function runEachInItsOwnProcess(benchmarks: readonly Benchmark[], values: { quick: boolean; azurite: string; part?: string }): Promise<number> {
  let failed = false;
  for (const bench of benchmarks) {
    const args = ["--only", bench.name, "--azurite", values.azurite, ...(values.quick ? ["--quick"] : []), ...(values.part !== undefined ? ["--part", values.part] : [])];
    // process.execArgv holds tsx's loader, so the child runs this file as this process does.
    const child = spawn(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), ...args], { stdio: "inherit" });
    const code = await new Promise<number>((resolve) => {
      child.on("exit", (exitCode, signal) => { resolve(exitCode ?? (signal ? 1 : 0)); });
      child.on("error", () => { resolve(1); });
    });
    if (code !== 0) {
      process.stderr.write(`benchmark ${bench.name} exited with ${String(code)}\n`);
      failed = true;
    }
  }
  return failed ? 1 : 0;
}

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { only: { type: "string" }, quick: { type: "boolean", default: false }, azurite: { type: "string", default: "process" }, part: { type: "string" } } });
  if (values.azurite !== "process" && values.azurite !== "embedded") {
    process.stderr.write(`--azurite must be process or embedded, got ${values.azurite}\n`);
    return 2;
  }
  const selected = values.only ? BENCHMARKS.filter((b) => b.name === values.only) : BENCHMARKS;
  if (selected.length === 0) {
    process.stderr.write(`no benchmark named ${values.only ?? ""}; known: ${BENCHMARKS.map((b) => b.name).join(", ")}\n`);
    return 2;
  }
  const part = values.part;
  const partless = part === undefined ? undefined : selected.find((b) => !(b.parts ?? []).includes(part));
  if (part !== undefined && partless) {
    const parts = partless.parts ? `its parts: ${partless.parts.join(", ")}` : "it has no parts";
    process.stderr.write(`--part ${part}: benchmark ${partless.name} has no such part (${parts}); choose one with --only\n`);
    return 2;
  }
  mkdirSync(resultsDir, { recursive: true });
  if (selected.length > 1) return runEachInItsOwnProcess(selected, values);
  let failed = false;
  for (const bench of selected) {
    process.stderr.write(`▶ ${bench.name}${values.quick ? " (quick)" : ""}\n`);
    const heap = sampleHeap();
    const report = await bench.run({ quick: values.quick, azurite: values.azurite, part: values.part });
    const memory = {
      peakRssMiB: Math.round(process.resourceUsage().maxRSS / 1024),
      peakHeapUsedMiB: Math.round(heap.stop() / 1024 / 1024),
      heapUsedAtEndMiB: Math.round(process.memoryUsage().heapUsed / 1024 / 1024),
    };
    const errors = report.tables.flatMap((t) => t.rows).reduce((sum, row) => sum + (typeof row.errors === "number" ? row.errors : 0), 0);
    if (errors > 0) failed = true;

    const out: string[] = [`\n== ${report.name}: ${report.title} ==`];
    for (const table of report.tables) out.push("", formatTable(table));
    out.push("", "Targets (reported, not enforced):");
    for (const t of report.targets) out.push(`  ${t.met ? "MET   " : "MISSED"} ${t.target}: ${t.detail}`);
    out.push("", `Memory (this process: host + senders, plus Azurite when embedded): peak RSS ${memory.peakRssMiB} MiB, peak heap used ${memory.peakHeapUsedMiB} MiB, heap used at end ${memory.heapUsedAtEndMiB} MiB`);
    out.push("", ...report.notes.map((n) => `  · ${n}`));
    const file = path.join(resultsDir, `${report.name}.json`);
    writeFileSync(file, `${JSON.stringify({ name: report.name, title: report.title, date: new Date().toISOString(), node: process.version, machine: machine(), parameters: report.parameters, memory, targets: report.targets, tables: report.tables, notes: report.notes }, null, 2)}\n`);
    out.push("", `written ${path.relative(process.cwd(), file)}`);
    process.stdout.write(`${out.join("\n")}\n`);
  }
  return failed ? 1 : 0;
}

main().then(
  (code) => { process.exit(code); },
  (error: unknown) => {
    process.stderr.write(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
