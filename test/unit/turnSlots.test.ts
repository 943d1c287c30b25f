import { describe, expect, it } from "vitest";
import { TurnSlots } from "../../shared/app/turnSlots.js";

/** A timer the test fires by hand. */
function manualTimers() {
  const pending: { fire: () => void; cancelled: boolean }[] = [];
  const timer = (_ms: number, onTimeout: () => void) => {
    const entry = { fire: onTimeout, cancelled: false };
    pending.push(entry);
    return () => {
      entry.cancelled = true;
    };
  };
  const fireAll = () => {
    for (const p of pending.splice(0)) if (!p.cancelled) p.fire();
  };
  return { timer, fireAll, live: () => pending.filter((p) => !p.cancelled).length };
}

describe("TurnSlots: control turns one process runs at once", () => {
  it("grants up to its size at once; the next waits and gets the first slot released, in arrival order", async () => {
    const slots = new TurnSlots(2);
    const { timer } = manualTimers();
    const a = await slots.acquire(1000, timer);
    const b = await slots.acquire(1000, timer);
    expect(a && b).toBeDefined();
    expect(slots.busy).toBe(2);
    const order: string[] = [];
    const c = slots.acquire(1000, timer).then((r) => { order.push("c"); return r; });
    const d = slots.acquire(1000, timer).then((r) => { order.push("d"); return r; });
    await Promise.resolve();
    expect(order).toEqual([]);
    a?.();
    const releaseC = await c;
    expect(order).toEqual(["c"]);
    expect(slots.busy).toBe(2);
    // Releasing twice frees one slot, not two.
    a?.();
    expect(slots.busy).toBe(2);
    b?.();
    await d;
    expect(order).toEqual(["c", "d"]);
    releaseC?.();
    (await d)?.();
    expect(slots.busy).toBe(0);
  });

  it("a turn that waits past its time gets no slot, leaves the queue of waiters, and a later release frees the slot", async () => {
    const slots = new TurnSlots(1);
    const timers = manualTimers();
    const held = await slots.acquire(50, timers.timer);
    const late = slots.acquire(50, timers.timer);
    timers.fireAll();
    expect(await late).toBeUndefined();
    held?.();
    expect(slots.busy).toBe(0);
    // A waiter that was granted a slot has its timer cancelled.
    const again = await slots.acquire(50, timers.timer);
    const waiting = slots.acquire(50, timers.timer);
    expect(timers.live()).toBe(1);
    again?.();
    expect(await waiting).toBeDefined();
    expect(timers.live()).toBe(0);
  });

  it("a size below one is refused", () => {
    expect(() => new TurnSlots(0)).toThrow(RangeError);
    expect(() => new TurnSlots(1.5)).toThrow(RangeError);
  });
});
