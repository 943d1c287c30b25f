import { describe, expect, it } from "vitest";
import { percentile, runClosedLoop, summarise, throughput } from "../bench/stats.js";

describe("percentile (nearest rank)", () => {
  const hundred = Array.from({ length: 100 }, (_, i) => i + 1); // 1..100

  it("picks real samples, never interpolates", () => {
    expect(percentile(hundred, 50)).toBe(50);
    expect(percentile(hundred, 95)).toBe(95);
    expect(percentile(hundred, 99)).toBe(99);
    expect(percentile(hundred, 100)).toBe(100);
    expect(percentile([10, 20, 30], 50)).toBe(20);
    expect(percentile([10, 20, 30, 40], 50)).toBe(20);
    expect(percentile([10, 20, 30, 40], 99)).toBe(40);
  });

  it("handles one sample, no samples and bad p", () => {
    expect(percentile([7], 1)).toBe(7);
    expect(percentile([7], 99)).toBe(7);
    expect(percentile([], 50)).toBeNaN();
    expect(() => percentile(hundred, 0)).toThrow(RangeError);
    expect(() => percentile(hundred, 101)).toThrow(RangeError);
  });
});

describe("throughput and summarise", () => {
  it("computes operations per second of wall time", () => {
    expect(throughput(500, 2000)).toBe(250);
    expect(throughput(0, 0)).toBe(0);
  });

  it("sorts unsorted latencies before taking percentiles", () => {
    const s = summarise([5, 1, 4, 2, 3], 1000, 1);
    expect(s).toMatchObject({ requests: 5, errors: 1, throughput: 5, p50: 3, p99: 5, max: 5, mean: 3 });
  });
});

describe("runClosedLoop", () => {
  it("runs every index once, at most `concurrency` at a time, and counts failures", async () => {
    const seen: number[] = [];
    let inFlight = 0;
    let peak = 0;
    const result = await runClosedLoop(20, 4, async (i) => {
      inFlight += 1;
      peak = Math.max(peak, inFlight);
      seen.push(i);
      await new Promise((r) => setTimeout(r, 1));
      inFlight -= 1;
      if (i === 3) throw new Error("boom");
      return i % 5 === 0 ? { ok: false, error: `bad ${i}` } : { ok: true };
    });
    expect(seen.sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(peak).toBe(4);
    expect(result.requests).toBe(20);
    expect(result.errors).toBe(5); // 0, 5, 10, 15 and the throw at 3
    expect(result.firstErrors).toHaveLength(3);
    expect(result.firstErrors.join(" ")).toMatch(/bad 0|boom/);
  });
});
