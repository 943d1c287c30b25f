/**
 * Faults the simulator injects on purpose, so clients' retry, back-off, resume and parse-error paths are exercised
 * over the wire. Decisions come from a seeded stream in request order, so a run with the same requests sees the
 * same faults.
 */
import { SeededRandom } from "./seededRandom.js";

/**
 * - `429`: 429 TooManyRequests with `Retry-After: 1`; with `stormLength` > 1 the next requests of the same tenant
 *   get 429 as well (a storm).
 * - `500` / `502` / `503` / `504`: that status with a Graph error body (`Retry-After: 1` on 503).
 * - `drop`: the connection is destroyed before any response byte (the client sees a network error).
 * - `malformed`: 200 with a page whose JSON is cut in half.
 * - `slow`: the normal response after `slowMs`.
 */
export type FaultKind = "429" | "500" | "502" | "503" | "504" | "drop" | "malformed" | "slow";

export const FAULT_KINDS: readonly FaultKind[] = ["429", "500", "502", "503", "504", "drop", "malformed", "slow"];

export interface FaultOptions {
  /** Probability in [0, 1] that an eligible request gets a fault. */
  rate: number;
  /** Faults to draw from (uniformly). */
  kinds: readonly FaultKind[];
  seed?: number | string;
  /** Delay of a `slow` fault (ms). Default 2000. */
  slowMs?: number;
  /** Requests of one tenant answered 429 in a row once a `429` fault fires. Default 1. */
  stormLength?: number;
  /** Methods eligible for faults. Default GET only (reads are what Graph pages). */
  methods?: readonly string[];
}

export class FaultInjector {
  private readonly rng: SeededRandom;
  private readonly storms = new Map<string, number>();
  private readonly queued: FaultKind[] = [];
  readonly slowMs: number;

  constructor(private readonly options: FaultOptions | undefined) {
    if (options) {
      if (!(options.rate >= 0 && options.rate <= 1)) throw new RangeError("faults.rate must be within [0, 1]");
      for (const kind of options.kinds) {
        if (!FAULT_KINDS.includes(kind)) throw new RangeError(`unknown fault kind ${kind}`);
      }
    }
    this.rng = SeededRandom.keyed("faults", options?.seed ?? 0);
    this.slowMs = options?.slowMs ?? 2000;
  }

  /** Makes the next `count` eligible requests fail with `kind`, whatever the configured rate. */
  queue(kind: FaultKind, count = 1): void {
    for (let i = 0; i < count; i++) this.queued.push(kind);
  }

  /** The fault for this request, if any. */
  draw(tenantKey: string, method: string): FaultKind | undefined {
    const methods = this.options?.methods ?? ["GET"];
    if (!methods.includes(method)) return undefined;
    const queued = this.queued.shift();
    if (queued) return queued;
    const storm = this.storms.get(tenantKey) ?? 0;
    if (storm > 0) {
      this.storms.set(tenantKey, storm - 1);
      return "429";
    }
    if (!this.options || this.options.kinds.length === 0) return undefined;
    // Always draw twice so one request's decision does not shift the stream of the next.
    const hit = this.rng.chance(this.options.rate);
    const kind = this.rng.pick(this.options.kinds);
    if (!hit) return undefined;
    if (kind === "429") this.storms.set(tenantKey, Math.max(0, (this.options.stormLength ?? 1) - 1));
    return kind;
  }
}
