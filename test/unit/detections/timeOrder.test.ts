import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { inTimeOrder, type Timed } from "../../../shared/domain/detections/index.js";

/** The reference: a plain sort of everything by (t, id). */
function reference(streams: readonly (readonly Timed[])[]): Timed[] {
  return streams.flat().sort((a, b) => a.t - b.t || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

const record = fc.record({ t: fc.integer({ min: 0, max: 40 }), id: fc.string({ minLength: 1, maxLength: 3 }) });
/** A stream as Graph sends it: newest first, records of one instant in any order. */
const newestFirst = fc.array(record, { maxLength: 120 }).chain((records) =>
  fc.shuffledSubarray(records, { minLength: records.length, maxLength: records.length }).map((shuffled) => [...shuffled].sort((a, b) => b.t - a.t)),
);

describe("inTimeOrder: a slice's streams in the detectors' order", () => {
  it("property: newest-first streams (ties in any order, runs of one instant short or long) come out as a full sort would", () => {
    fc.assert(
      fc.property(fc.array(newestFirst, { maxLength: 3 }), (streams) => {
        const expected = reference(streams);
        expect(inTimeOrder(streams.map((s) => [...s]))).toEqual(expected);
      }),
    );
  });

  it("property: a stream in any other order is sorted whole", () => {
    fc.assert(
      fc.property(fc.array(fc.array(record, { maxLength: 80 }), { maxLength: 3 }), (streams) => {
        expect(inTimeOrder(streams.map((s) => [...s]))).toEqual(reference(streams));
      }),
    );
  });

  it("reverses Graph's order and merges the interactive and non-interactive streams", () => {
    const interactive = [{ t: 30, id: "i3" }, { t: 10, id: "i1" }];
    const others = [{ t: 30, id: "a" }, { t: 20, id: "n2" }, { t: 20, id: "n1" }, { t: 5, id: "n0" }];
    expect(inTimeOrder([interactive, others]).map((r) => r.id)).toEqual(["n0", "i1", "n1", "n2", "a", "i3"]);
    expect(inTimeOrder([[], []])).toEqual([]);
    // Twenty records of one instant (past the insertion-sort run length) still come out in id order.
    const instant = Array.from({ length: 20 }, (_, i) => ({ t: 7, id: String.fromCharCode(116 - i) }));
    expect(inTimeOrder([[{ t: 9, id: "z" }, ...instant, { t: 1, id: "a" }]]).map((r) => r.id).join("")).toBe("aabcdefghijklmnopqrstz");
  });
});
