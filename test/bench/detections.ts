/**
 * The detectors' benchmark: how much reading sign-ins through the detectors costs on top of the unavoidable floor,
 * `JSON.parse` of Graph's pages.
 *
 * Sign-ins of one large simulated tenant are cut into hourly slices (what the control runner reads) and pages of
 * 1,000 (Graph's page size), newest first as Graph serves them, and serialised to page strings like Graph's
 * (`{"value":[...]}`), both whole (beta, every property) and `$select`-ed (SIGN_IN_SELECT.beta). Then, in the same
 * process and on the same records: (a) the floor, `JSON.parse` of every page alone; (b) what the runner does, parse +
 * `toSignInRecord` + time order of each slice (`inTimeOrder`, as the runner) + `SignInDetectors.observe` of every
 * record + `drain()` after each slice. Each phase parses its own serialisation, once (see the notes). Pages are
 * built six hours at a time and dropped after measuring, so memory holds six hours of strings. That is one round
 * (`measureDetectionRound`, run by detectionsWorker.ts in a process of its own); a full run reports the medians of
 * three (`runDetectionBench`).
 */
import { performance } from "node:perf_hooks";
import { GraphDataset, HOUR_MS } from "../../local/graphSimulator/dataGenerator.js";
import type { SignIn } from "../../local/graphSimulator/records.js";
import {
  DEFAULT_THRESHOLDS,
  inTimeOrder,
  SIGN_IN_SELECT,
  SignInDetectors,
  toSignInRecord,
  type SignInRecord,
} from "../../shared/domain/detections/index.js";
import { runTs } from "../support/processes.js";
import { percentile, type BenchReport } from "./stats.js";

const PAGE_SIZE = 1000;
/** Hours of page strings built, measured and dropped at a time (bounds the memory the strings take). */
const CHUNK_HOURS = 6;
const NOW = Date.parse("2024-09-20T12:00:00Z");
const TARGET_RATE = 200_000;
const TARGET_OVERHEAD = 0.5;
/** Rounds of a full run, each in its own process. */
const ROUNDS = 3;

type Variant = "whole beta records" | "$select-ed beta records";
const VARIANTS: readonly Variant[] = ["whole beta records", "$select-ed beta records"];

interface Slice {
  /** Page strings of one hour, newest first. */
  pages: string[];
}

interface Figures {
  records: number;
  pages: number;
  bytes: number;
  floorMs: number;
  detectorsMs: number;
  /** CPU time of the process (user + system, all threads: the collector's too), robust to other load on the machine. */
  floorCpuMs: number;
  detectorsCpuMs: number;
  detections: number;
  snapshotBytes: number;
  snapshotMs: number;
}

function emptyFigures(): Figures {
  return { records: 0, pages: 0, bytes: 0, floorMs: 0, detectorsMs: 0, floorCpuMs: 0, detectorsCpuMs: 0, detections: 0, snapshotBytes: 0, snapshotMs: 0 };
}

function pick(record: SignIn, fields: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of fields) out[f] = record[f as keyof SignIn];
  return out;
}

function pagesOf(records: readonly SignIn[], variant: Variant): string[] {
  const pages: string[] = [];
  for (let i = 0; i < records.length; i += PAGE_SIZE) {
    const chunk = records.slice(i, i + PAGE_SIZE);
    const value = variant === "whole beta records" ? chunk : chunk.map((r) => pick(r, SIGN_IN_SELECT.beta));
    const text = JSON.stringify({ "@odata.context": "https://graph.microsoft.com/beta/$metadata#auditLogs/signIns", value });
    // Decoded from bytes, as an HTTP body is: JSON.stringify returns a rope that V8 flattens on first use, which
    // would make the first parse of each page 2–3 times slower than a page read from the network.
    pages.push(Buffer.from(text, "utf8").toString("utf8"));
  }
  return pages;
}

/** (a) The floor: parse every page, touch its records. */
function parseOnly(slices: readonly Slice[]): number {
  let n = 0;
  for (const slice of slices) {
    for (const page of slice.pages) n += (JSON.parse(page) as { value: unknown[] }).value.length;
  }
  return n;
}

/** (b) What the control runner does with a slice. */
function parseAndDetect(slices: readonly Slice[], detectors: SignInDetectors): number {
  let detections = 0;
  for (const slice of slices) {
    const records: SignInRecord[] = [];
    for (const page of slice.pages) {
      for (const raw of (JSON.parse(page) as { value: unknown[] }).value) {
        const record = toSignInRecord(raw, "nonInteractiveUser");
        if (record) records.push(record);
      }
    }
    for (const record of inTimeOrder([records])) detectors.observe(record);
    detections += detectors.drain().length;
  }
  return detections;
}

function rate(records: number, ms: number): number {
  return ms > 0 ? Math.round((records * 1000) / ms) : 0;
}

/** One round's figures per variant, and the round's memory (bytes), as a worker prints them. */
export interface RoundFigures {
  variants: Record<Variant, Figures>;
  maxRssBytes: number;
  rssPeakSampled: number;
  heapUsedAtEnd: number;
  parameters: { records: number; users: number; days: number; chunks: number };
}

/** One round in this process: build the pages, measure floor and detectors slice by slice (see the top of this file). */
export async function measureDetectionRound(options: { quick: boolean }): Promise<RoundFigures> {
  const target = options.quick ? 100_000 : 1_000_000;
  const users = options.quick ? 2000 : 5000;
  // About 18 sign-ins per user and day (interactive, non-interactive, service principals), fewer at weekends.
  const days = Math.ceil(target / (users * 14)) + 1;
  const dataset = new GraphDataset({ seed: "detections-bench", nowMs: NOW, days, tenants: [{ displayName: "Bench", users, licence: "p2" }] });
  const tenant = dataset.tenants[0]?.id ?? "";
  const privileged = dataset.users(tenant).filter((u) => u.isAdmin).map((u) => u.id);
  const detectors = new Map(VARIANTS.map((v) => [v, new SignInDetectors(DEFAULT_THRESHOLDS, privileged)]));
  const figures = new Map<Variant, Figures>(VARIANTS.map((v) => [v, emptyFigures()]));
  let rssPeakSampled = process.memoryUsage().rss;
  let generated = 0;
  let hour = Math.floor(dataset.dataStartMs / HOUR_MS);
  let chunks = 0;

  while (generated < target) {
    // CHUNK_HOURS hourly slices at a time, serialised once per variant, measured, then dropped.
    const hours: SignIn[][] = [];
    for (let h = 0; h < CHUNK_HOURS && generated < target; h++, hour++) {
      const records = dataset.signInsInHour(tenant, hour).map((x) => x.r);
      const take = records.slice(0, Math.max(0, target - generated));
      // Keep whole hours, except the very last one, which is cut to the target (its newest records, as Graph pages).
      hours.push(take);
      generated += take.length;
    }
    chunks++;
    for (const variant of VARIANTS) {
      // Two serialisations of the same records: each phase parses strings nothing has parsed before, as the runner
      // parses each page once.
      const slices: Slice[] = hours.map((records) => ({ pages: pagesOf(records, variant) }));
      const twins: Slice[] = hours.map((records) => ({ pages: pagesOf(records, variant) }));
      const f = figures.get(variant);
      const d = detectors.get(variant);
      if (!f || !d) continue;
      if (chunks === 1) {
        // Warm-up (not timed): JIT and heap sizing, on a third serialisation; a throwaway detector keeps the real
        // one's order.
        const warm = hours.map((records) => ({ pages: pagesOf(records, variant) }));
        parseOnly(warm);
        parseAndDetect(hours.map((records) => ({ pages: pagesOf(records, variant) })), new SignInDetectors(DEFAULT_THRESHOLDS, privileged));
      }
      // Floor and detectors alternate slice by slice (and which goes first alternates too), so the collector's work
      // and other load on the machine fall on both alike.
      let parsed = 0;
      for (let i = 0; i < slices.length; i++) {
        const floorFirst = i % 2 === 0;
        for (const phase of floorFirst ? ["floor", "detectors"] : ["detectors", "floor"]) {
          const t = performance.now();
          const cpu = process.cpuUsage();
          if (phase === "floor") parsed += parseOnly(slices.slice(i, i + 1));
          else f.detections += parseAndDetect(twins.slice(i, i + 1), d);
          const wall = performance.now() - t;
          const used = process.cpuUsage(cpu);
          const cpuMs = (used.user + used.system) / 1000;
          if (phase === "floor") {
            f.floorMs += wall;
            f.floorCpuMs += cpuMs;
          } else {
            f.detectorsMs += wall;
            f.detectorsCpuMs += cpuMs;
          }
        }
      }
      f.records += parsed;
      for (const s of slices) {
        f.pages += s.pages.length;
        for (const p of s.pages) f.bytes += p.length;
      }
      rssPeakSampled = Math.max(rssPeakSampled, process.memoryUsage().rss);
    }
    await new Promise((resolve) => setImmediate(resolve));
  }

  for (const variant of VARIANTS) {
    const f = figures.get(variant);
    const d = detectors.get(variant);
    if (!f || !d) continue;
    const t = performance.now();
    const text = JSON.stringify(d.snapshot());
    f.snapshotMs = performance.now() - t;
    f.snapshotBytes = text.length;
    f.detections += d.finish().length;
    if (d.observed !== f.records) throw new Error(`${variant}: observed ${d.observed} of ${f.records} records`);
  }
  return {
    variants: Object.fromEntries(VARIANTS.map((v) => [v, figures.get(v) ?? emptyFigures()])) as Record<Variant, Figures>,
    maxRssBytes: process.resourceUsage().maxRSS * 1024,
    rssPeakSampled,
    heapUsedAtEnd: process.memoryUsage().heapUsed,
    parameters: { records: target, users, days, chunks },
  };
}

/** The middle value (nearest rank; the rounds are odd in number). */
function median(values: readonly number[]): number {
  return percentile([...values].sort((a, b) => a - b), 50);
}

/**
 * Runs ROUNDS rounds, each in a process of its own (detectionsWorker.ts), and reports the median of each figure:
 * one process's overhead moves by ±5 points with how V8 sizes its young generation for that run, so a single round
 * cannot tell 45 % from 50 %. Every round must find the same detections.
 */
export async function runDetectionBench(options: { quick: boolean }): Promise<BenchReport> {
  const rounds = options.quick ? 1 : ROUNDS;
  const results: RoundFigures[] = [];
  for (let i = 0; i < rounds; i++) {
    const finished = await runTs("test/bench/detectionsWorker.ts", [JSON.stringify({ quick: options.quick })], {}, 1_200_000);
    if (finished.code !== 0) throw new Error(`detections round ${String(i + 1)} failed: ${finished.stderr.slice(0, 800)}`);
    results.push(JSON.parse(finished.stdout.trim().split("\n").at(-1) ?? "{}") as RoundFigures);
    process.stdout.write(`  detections round ${String(i + 1)}/${String(rounds)} done\n`);
  }
  const first = results[0];
  if (!first) throw new Error("no detections round ran");
  for (const variant of VARIANTS) {
    const counts = new Set(results.map((r) => r.variants[variant].detections));
    if (counts.size !== 1) throw new Error(`${variant}: rounds found different numbers of detections (${[...counts].join(", ")})`);
  }
  const mb = (bytes: number) => Math.round(bytes / (1024 * 1024));
  const overhead = (f: Figures, cpu: boolean) => Math.round(((cpu ? f.detectorsCpuMs / Math.max(1e-9, f.floorCpuMs) : f.detectorsMs / Math.max(1e-9, f.floorMs)) - 1) * 1000) / 10;
  const rows = VARIANTS.map((variant) => {
    const all = results.map((r) => r.variants[variant]);
    const f = all[0] ?? emptyFigures();
    const m = (pick: (x: Figures) => number) => median(all.map(pick));
    return {
      variant,
      records: f.records,
      pages: f.pages,
      "bytes/record": Math.round(f.bytes / Math.max(1, f.records)),
      "floor rec/s (JSON.parse)": Math.round(m((x) => rate(x.records, x.floorMs))),
      "detectors rec/s (parse+normalise+sort+observe)": Math.round(m((x) => rate(x.records, x.detectorsMs))),
      "overhead %": median(all.map((x) => overhead(x, false))),
      "overhead % per round": all.map((x) => overhead(x, false)).join(" / "),
      "floor rec/s (CPU time)": Math.round(m((x) => rate(x.records, x.floorCpuMs))),
      "detectors rec/s (CPU time)": Math.round(m((x) => rate(x.records, x.detectorsCpuMs))),
      "overhead % (CPU time)": median(all.map((x) => overhead(x, true))),
      detections: f.detections,
      "snapshot KiB": Math.round(f.snapshotBytes / 1024),
      "snapshot ms": Math.round(m((x) => x.snapshotMs) * 10) / 10,
    };
  });
  const rowOf = (variant: Variant) => rows.find((r) => r.variant === variant);
  const targets = VARIANTS.flatMap((variant) => {
    const row = rowOf(variant);
    if (!row) return [];
    return [
      { target: `${variant}: ≥ ${TARGET_RATE.toLocaleString("en")} records/s through the detectors (median of ${String(rounds)})`, met: row["detectors rec/s (parse+normalise+sort+observe)"] >= TARGET_RATE, detail: `${row["detectors rec/s (parse+normalise+sort+observe)"].toLocaleString("en")} records/s` },
      { target: `${variant}: overhead over JSON.parse ≤ ${TARGET_OVERHEAD * 100}% (median of ${String(rounds)})`, met: row["overhead %"] <= TARGET_OVERHEAD * 100, detail: `${String(row["overhead %"])}% (rounds: ${row["overhead % per round"]})` },
    ];
  });
  const { records: target, users, days, chunks } = first.parameters;

  return {
    name: "detections",
    title: "Sign-in detectors: records per second against the JSON.parse floor",
    parameters: { quick: options.quick, rounds, records: target, users, days, pageSize: PAGE_SIZE, chunks, select: SIGN_IN_SELECT.beta },
    tables: [
      { title: `Throughput (same page strings, same process; median of ${String(rounds)} round${rounds === 1 ? "" : "s"}, each in its own process)`, columns: Object.keys(rows[0] ?? {}), rows },
      {
        title: "Memory (largest of the rounds)",
        columns: ["what", "MiB"],
        rows: [
          { what: "peak RSS of a round's process (resourceUsage.maxRSS)", MiB: mb(Math.max(...results.map((r) => r.maxRssBytes))) },
          { what: "largest RSS sampled after a chunk of pages", MiB: mb(Math.max(...results.map((r) => r.rssPeakSampled))) },
          { what: "heap used at the end of a round", MiB: mb(Math.max(...results.map((r) => r.heapUsedAtEnd))) },
        ],
      },
    ],
    targets,
    notes: [
      `${users.toLocaleString("en")} users, ${String(days)} days of simulated sign-ins (interactive, non-interactive, service principals, planted attacks), ${target.toLocaleString("en")} records per variant in pages of ${String(PAGE_SIZE)}, newest first as Graph serves them; one slice per hour.`,
      "floor: JSON.parse of every page and nothing else. Pages are decoded from UTF-8 bytes like HTTP bodies (a JSON.stringify result is a rope V8 flattens on first use, 2–3× slower to parse once) and each phase parses its own copy once, as the runner parses each page once; the phases alternate slice by slice (and which goes first), so garbage collection and other load fall on both alike; the first six hours run once untimed to warm up. detectors: JSON.parse + toSignInRecord + inTimeOrder of the slice (reverse of Graph's newest-first order, ties by id) + SignInDetectors.observe + drain() per slice. Building the page strings is not timed.",
      `Each round runs in a fresh process (test/bench/detectionsWorker.ts); figures are medians over the rounds and every round's overhead is listed: one process's overhead moves by about ±5 points with how V8 sizes its young generation in that run. Every round found the same detections.`,
      "Wall-clock figures are the ones the targets are judged on; the CPU-time figures (process.cpuUsage, every thread of the process) are printed beside them because a shared machine's other load inflates wall time.",
      "Peak RSS includes six hours of page strings of both variants held while measuring, and the heap V8 grows for JSON.parse's garbage; the detectors' own state is the snapshot size (per user, flat in the number of records).",
    ],
  };
}
