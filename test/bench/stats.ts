/**
 * Figures for the benchmarks: latency percentiles, throughput, and a closed-loop load driver. Benchmarks report these
 * figures; they never fail on machine speed (only test/unit/benchStats.test.ts checks that the arithmetic is right).
 */
import { performance } from "node:perf_hooks";

/** What every benchmark module returns; test/bench/run.ts prints it and writes bench-results/<name>.json. */
export interface BenchReport {
  name: string;
  title: string;
  /** What was run (levels, request counts, modes), as written to the JSON file. */
  parameters: Record<string, unknown>;
  tables: BenchTable[];
  /** Targets from the issue, evaluated on this run's figures (reported, never thrown). */
  targets: { target: string; met: boolean; detail: string }[];
  /** Free text printed under the tables: how the figures were made, what they mean. */
  notes: string[];
}

export interface BenchTable {
  title: string;
  columns: string[];
  rows: Record<string, string | number | boolean | null>[];
}

export interface LatencySummary {
  requests: number;
  errors: number;
  elapsedMs: number;
  /** Completed operations (successful or not) per second of wall time. */
  throughput: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  mean: number;
}

/**
 * Nearest-rank percentile of an ascending array: the smallest value with at least `p`% of the samples at or below
 * it. p99 of 100 samples is the 99th value, never an interpolation between two real latencies.
 */
export function percentile(sortedAscending: readonly number[], p: number): number {
  if (sortedAscending.length === 0) return Number.NaN;
  if (!(p > 0 && p <= 100)) throw new RangeError(`percentile must be in (0, 100], got ${p}`);
  const rank = Math.ceil((p / 100) * sortedAscending.length);
  return sortedAscending[Math.min(sortedAscending.length, Math.max(1, rank)) - 1] ?? Number.NaN;
}

/** Requests per second over a wall-clock interval. */
export function throughput(operations: number, elapsedMs: number): number {
  if (elapsedMs <= 0) return operations === 0 ? 0 : Number.POSITIVE_INFINITY;
  return (operations * 1000) / elapsedMs;
}

export function summarise(latenciesMs: readonly number[], elapsedMs: number, errors: number): LatencySummary {
  const sorted = [...latenciesMs].sort((a, b) => a - b);
  const total = sorted.reduce((sum, v) => sum + v, 0);
  return {
    requests: sorted.length,
    errors,
    elapsedMs,
    throughput: throughput(sorted.length, elapsedMs),
    p50: percentile(sorted, 50),
    p95: percentile(sorted, 95),
    p99: percentile(sorted, 99),
    max: sorted.length > 0 ? (sorted[sorted.length - 1] ?? Number.NaN) : Number.NaN,
    mean: sorted.length > 0 ? total / sorted.length : Number.NaN,
  };
}

/** Outcome of one operation: `ok: false` counts as an error and keeps a short description for the report. */
export type OperationResult = { ok: true } | { ok: false; error: string };

export interface LoadResult extends LatencySummary {
  /** The first few error descriptions, to print when errors > 0. */
  firstErrors: string[];
}

/**
 * Closed-loop load: `concurrency` senders, each starting its next operation as soon as the previous one ends, until
 * `count` operations have run. Operation `i` gets its index so callers can hand out unique bodies. A thrown error
 * counts as a failed operation.
 */
export async function runClosedLoop(
  count: number,
  concurrency: number,
  operation: (index: number) => Promise<OperationResult>,
): Promise<LoadResult> {
  const latencies: number[] = [];
  const firstErrors: string[] = [];
  let errors = 0;
  let next = 0;
  const sender = async (): Promise<void> => {
    for (let i = next++; i < count; i = next++) {
      const started = performance.now();
      let result: OperationResult;
      try {
        result = await operation(i);
      } catch (error) {
        result = { ok: false, error: error instanceof Error ? error.message : String(error) };
      }
      latencies.push(performance.now() - started);
      if (!result.ok) {
        errors += 1;
        if (firstErrors.length < 3) firstErrors.push(result.error);
      }
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, count)) }, sender));
  return { ...summarise(latencies, performance.now() - started, errors), firstErrors };
}
