import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { plannerDescription } from "../../shared/app/deliverTask.js";
import { buildTaskContent, taskId } from "../../shared/domain/task.js";
import { renderTaskCard } from "../../shared/domain/taskCard.js";
import { buildMime, renderEscalationMail, renderTaskMail } from "../../shared/domain/taskMail.js";
import { blindWindow, controlSummary, finding, huntQuery } from "../support/taskWorld.js";

/**
 * Tenant isolation as a property: a task (its content, card, e-mail in both parts and MIME, escalations and Planner
 * notes) built for tenant A from a world holding tenants A and B — B's findings, controls and notices passed in as
 * well, as a buggy store might — never contains B's tenant id, name, UPNs, IPs or finding ids.
 */

interface TenantWorld {
  tenantId: string;
  name: string;
  users: string[];
  ips: string[];
  noticeTitle: string;
}

const word = fc.stringMatching(/^[a-z]{4,10}$/);

function tenantWorld(domain: "a" | "b", ipPrefix: string): fc.Arbitrary<TenantWorld> {
  return fc.record({
    tenantId: fc.uuid({ version: 4 }),
    name: word.map((w) => `Tenant ${domain.toUpperCase()} ${w}`),
    users: fc.uniqueArray(word.map((w) => `${w}@${domain}-tenant.example`), { minLength: 1, maxLength: 8 }),
    ips: fc.uniqueArray(fc.integer({ min: 1, max: 254 }).map((n) => `${ipPrefix}.${String(n)}`), { minLength: 1, maxLength: 8 }),
    noticeTitle: word.map((w) => `Notice for ${domain}-${w} only`),
  });
}

describe("tenant isolation of tasks", () => {
  it("a task for A built from a world with A and B carries nothing of B's", () => {
    fc.assert(
      fc.property(
        tenantWorld("a", "203.0.113"),
        tenantWorld("b", "198.51.100"),
        fc.boolean(),
        fc.integer({ min: 0, max: 6 }),
        (a, b, sameWindowId, hunts) => {
          fc.pre(a.tenantId !== b.tenantId);
          const wa = blindWindow(a.tenantId, { notices: ["manual~A-1"] });
          const wb = blindWindow(b.tenantId, { notices: ["manual~B-1"], ...(sameWindowId ? {} : { windowId: "wbbbbbbbbbbbbbbbb" }) });
          const findingsOf = (w: typeof wa, t: TenantWorld) =>
            t.users.map((upn, i) =>
              finding(w, i, {
                subject: { kind: "user", id: `${t.tenantId}-user-${String(i)}`, name: upn },
                explanation: `Spray against ${upn} from ${t.ips[i % t.ips.length] ?? ""}`,
                ipAddresses: t.ips,
              }),
            );
          const fa = findingsOf(wa, a);
          const fb = findingsOf(wb, b);
          const content = buildTaskContent({
            tenant: { tenantId: a.tenantId, name: a.name },
            window: wa,
            notices: [{ key: "manual~A-1", title: a.noticeTitle }],
            controls: [controlSummary(wa, "signin-review", "done", { findings: fa.length }), controlSummary(wb, "signin-review", "failed", { error: `failed for ${b.name}` })],
            findings: [...fb, ...fa],
            huntQueries: Array.from({ length: hunts }, (_, i) => huntQuery(i, wa)),
          });
          const task = { id: taskId(a.tenantId, wa.windowId), status: "open" as const, dueDate: wa.reviewDeadline, content };
          const mail = renderTaskMail(task);
          const outputs = [
            JSON.stringify(content),
            JSON.stringify(renderTaskCard(task)),
            mail.subject,
            mail.html,
            mail.text,
            buildMime({ from: "x@a-tenant.example", to: ["soc@a-tenant.example"], ...mail }),
            ...(["warn-72h", "warn-24h", "overdue"] as const).map((k) => JSON.stringify(renderEscalationMail(k, task))),
            plannerDescription(task),
          ].join("\n");
          const foreign = [b.tenantId, b.name, b.noticeTitle, ...b.users, ...b.ips, ...fb.map((f) => f.id), ...fb.map((f) => f.subject.id)];
          for (const value of foreign) expect(outputs, `B's ${value}`).not.toContain(value);
          // A's own data is there (the property is not vacuous).
          expect(outputs).toContain(a.name);
          expect(a.users.some((upn) => outputs.includes(upn))).toBe(true);
        },
      ),
      { numRuns: 60 },
    );
  });
});
