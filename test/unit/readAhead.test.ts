import { describe, expect, it } from "vitest";
import { readAhead } from "../../shared/app/readAhead.js";

/** A source of `count` numbers that records which it was asked for, whether it was closed, and can fail at one. */
function source(count: number, failAt?: number) {
  const asked: number[] = [];
  const state = { closed: false };
  async function* items(): AsyncGenerator<number> {
    try {
      for (let i = 0; i < count; i++) {
        asked.push(i);
        await new Promise((resolve) => setTimeout(resolve, 1));
        if (i === failAt) throw new Error(`item ${String(i)} failed`);
        yield i;
      }
    } finally {
      state.closed = true;
    }
  }
  return { items: items(), asked, state };
}

const tick = () => new Promise((resolve) => setTimeout(resolve, 5));

describe("readAhead", () => {
  it("asks for the next item as soon as one arrives, before the caller asks, and yields every item once in order", async () => {
    const s = source(4);
    const reader = readAhead(s.items, () => true);
    const first = await reader.next();
    expect(first).toEqual({ done: false, value: 0 });
    // The caller is still busy with item 0: item 1 is already being read.
    expect(s.asked).toEqual([0, 1]);
    expect(reader.aheadInFlight()).toBe(true);
    const seen = [first.value];
    for (let step = await reader.next(); !step.done; step = await reader.next()) seen.push(step.value);
    expect(seen).toEqual([0, 1, 2, 3]);
    expect(await reader.next()).toEqual({ done: true, value: undefined });
  });

  it("reads nothing ahead while ahead() says the run is ending", async () => {
    const s = source(4);
    let ending = false;
    const reader = readAhead(s.items, () => !ending);
    await reader.next();
    ending = true;
    expect(reader.aheadInFlight()).toBe(true);
    await reader.next();
    expect(reader.aheadInFlight()).toBe(false);
    await tick();
    // Item 1 was read ahead before the run began to end; after that, only what the caller asks for.
    expect(s.asked).toEqual([0, 1]);
    reader.close();
    await tick();
    expect(s.state.closed).toBe(true);
  });

  it("a read-ahead's failure reaches the caller when it takes that item, not before, and is never unhandled", async () => {
    const s = source(4, 1);
    const reader = readAhead(s.items, () => true);
    expect(await reader.next()).toEqual({ done: false, value: 0 });
    // The failure has happened while the caller works on item 0; it does not escape as an unhandled rejection.
    await tick();
    await expect(reader.next()).rejects.toThrow("item 1 failed");
    expect(await reader.next()).toEqual({ done: true, value: undefined });
  });

  it("close() with a read-ahead in flight lets it settle, then closes the source; nothing more is read", async () => {
    const s = source(10);
    const reader = readAhead(s.items, () => true);
    await reader.next();
    reader.close();
    expect(s.state.closed).toBe(false);
    await tick();
    expect(s.state.closed).toBe(true);
    expect(s.asked).toEqual([0, 1]);
    expect(await reader.next()).toEqual({ done: true, value: undefined });
  });
});
