import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseGraphTime } from "../../../shared/domain/detections/graphTime.js";

describe("parseGraphTime", () => {
  it("gives exactly what Date.parse gives for Graph's timestamps, with and without fractions", () => {
    const pad = (n: number, width: number) => String(n).padStart(width, "0");
    fc.assert(
      fc.property(
        fc.record({
          year: fc.integer({ min: 0, max: 9999 }),
          month: fc.integer({ min: 0, max: 13 }),
          day: fc.integer({ min: 0, max: 32 }),
          hour: fc.integer({ min: 0, max: 24 }),
          minute: fc.integer({ min: 0, max: 60 }),
          second: fc.integer({ min: 0, max: 60 }),
          fraction: fc.option(fc.stringMatching(/^[0-9]{1,9}$/)),
        }),
        ({ year, month, day, hour, minute, second, fraction }) => {
          const text = `${pad(year, 4)}-${pad(month, 2)}-${pad(day, 2)}T${pad(hour, 2)}:${pad(minute, 2)}:${pad(second, 2)}${fraction === null ? "" : `.${fraction}`}Z`;
          expect(parseGraphTime(text)).toBe(Date.parse(text));
        },
      ),
      { seed: 424242, numRuns: 5000 },
    );
  });

  it.each([
    "2024-09-20T12:00:00Z",
    "2020-03-13T19:15:41.6195833Z",
    "2024-12-27T10:01:19.5796748Z",
    "2024-02-29T23:59:59.999Z",
    "2024-09-20T12:00:00+02:00",
    "2024-09-20T12:00:00.Z",
    "2024-09-20T12:00:00.1a2Z",
    "2024-09-20 12:00:00Z",
    "2024-9-20T12:00:00Z",
    "20x4-09-20T12:00:00Z",
    "yesterday",
    "",
  ])("agrees with Date.parse on %j", (text) => {
    expect(parseGraphTime(text)).toBe(Date.parse(text));
  });
});
