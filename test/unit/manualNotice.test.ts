import { describe, expect, it } from "vitest";
import { normaliseManualNotice } from "../../shared/domain/manualNotice.js";

const pir = {
  title: "Post Incident Review (PIR) – Microsoft Entra ID – Incomplete sign-in and audit logs",
  body: "Starting around 23:00 UTC on 2 September 2024, a bug in an internal monitoring agent resulted in partially incomplete sign-in and activity logs.",
  impactStart: "2024-09-02T23:00:00Z",
  services: ["Microsoft Entra ID", "Microsoft Sentinel"],
  tenants: ["8F3E0B1C-7A64-4B7C-9F0E-2C1D3B4A5E6F"],
};
const received = new Date("2024-10-03T09:00:00Z");

describe("manual notice", () => {
  it("normalises a PIR pasted by an operator", () => {
    const result = normaliseManualNotice(pir, received);
    if (!result.ok) throw new Error(result.errors.join("; "));
    expect(result.value).toMatchObject({
      source: "manual",
      title: pir.title,
      text: pir.body,
      impactStart: "2024-09-02T23:00:00.000Z",
      services: ["Microsoft Entra ID", "Microsoft Sentinel"],
      tenantIds: ["8f3e0b1c-7a64-4b7c-9f0e-2c1d3b4a5e6f"],
      publishedAt: "2024-10-03T09:00:00.000Z",
      synthetic: false,
    });
    expect(result.value.id).toMatch(/^pir-[0-9a-f]{16}$/);
  });

  it("gives the same id and revision when the same text is posted again later", () => {
    const a = normaliseManualNotice(pir, received);
    const b = normaliseManualNotice({ ...pir, services: [...pir.services].reverse() }, new Date("2024-10-05T00:00:00Z"));
    if (!a.ok || !b.ok) throw new Error("expected both to parse");
    expect(b.value.id).toBe(a.value.id);
    expect(b.value.revision).toBe(a.value.revision);
  });

  it("gives a new revision of the same notice when an operator-supplied id is kept and the text changes", () => {
    const a = normaliseManualNotice({ ...pir, id: "4L44-3F0" }, received);
    const b = normaliseManualNotice({ ...pir, id: "4L44-3F0", impactEnd: "2024-09-19T00:00:00Z" }, received);
    if (!a.ok || !b.ok) throw new Error("expected both to parse");
    expect(b.value.id).toBe("4L44-3F0");
    expect(b.value.revision).not.toBe(a.value.revision);
  });

  it("names every problem: missing, mistyped and unknown fields", () => {
    const result = normaliseManualNotice({ body: 7, impact_start: "2024-09-02", tenants: ["not-a-guid"] }, received);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.errors).toEqual(expect.arrayContaining([
      expect.stringMatching(/^title: /),
      expect.stringMatching(/^body: /),
      expect.stringMatching(/^tenants\.0: each tenant must be a tenant id/),
      expect.stringMatching(/impact_start/),
    ]));
  });

  it("refuses an end before the start and timestamps that are not ISO 8601", () => {
    const reversed = normaliseManualNotice({ ...pir, impactEnd: "2024-09-01T00:00:00Z" }, received);
    expect(reversed).toEqual({ ok: false, errors: ["impactEnd: must not be before impactStart"] });
    const prose = normaliseManualNotice({ ...pir, impactStart: "2 September 2024" }, received);
    expect(prose.ok).toBe(false);
  });
});
