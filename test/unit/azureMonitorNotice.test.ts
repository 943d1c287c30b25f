import { describe, expect, it } from "vitest";
import { normaliseAzureMonitorAlert } from "../../shared/domain/azureMonitorNotice.js";
import { NoticeSchema, type Notice } from "../../shared/domain/notice.js";
import { commonAlert, fixtureJson, mutableFixture } from "../support/fixtures.js";

function ok(json: unknown): Notice {
  const result = normaliseAzureMonitorAlert(json);
  if (!result.ok) throw new Error(`expected a notice, got ${result.errors.join("; ")}`);
  expect(NoticeSchema.parse(result.value)).toEqual(result.value);
  return result.value;
}

function errors(json: unknown): string[] {
  const result = normaliseAzureMonitorAlert(json);
  if (result.ok) throw new Error("expected validation errors");
  return result.errors;
}

describe("common alert schema (Service Health test action sample)", () => {
  const notice = ok(fixtureJson("microsoft-docs", "azure-monitor-common-schema-servicehealth-testaction.json"));

  it("normalises ids, revision and stage", () => {
    expect(notice).toMatchObject({
      source: "azure-monitor",
      id: "ABC1-DEF",
      revision: "11223344556677~Resolved",
      stage: "Resolved",
      communicationId: "11223344556677",
      incidentType: "Incident",
      title: "Test Action Group - Test Service Health Alert",
    });
  });

  it("reads the test-action flag sent as the string \"True\"", () => {
    expect(notice.synthetic).toBe(true);
  });

  it("takes subscriptions from alertTargetIDs and services/regions from the impactedServices JSON string", () => {
    expect(notice.subscriptionIds).toEqual(["11111111-1111-1111-1111-111111111111"]);
    expect(notice.services).toEqual(["Azure Service Name"]);
    expect(notice.regions).toEqual(["Global"]);
  });

  it("turns the HTML communication into plain text", () => {
    expect(notice.text).toContain("Summary of impact");
    expect(notice.text).toContain("This is the impact summary.");
    expect(notice.text).not.toMatch(/<[a-z]|&nbsp;/i);
  });

  it("normalises impact and publication times to ISO instants", () => {
    expect(notice.impactStart).toBe("2021-11-16T20:00:00.000Z");
    expect(notice.impactEnd).toBe("2021-11-17T01:00:00.000Z");
    expect(notice.publishedAt).toBe("2021-11-17T05:34:44.577Z");
  });
});

describe("legacy activity-log schema sample", () => {
  const notice = ok(fixtureJson("microsoft-docs", "azure-activitylog-webhook-servicehealth-legacy-schema.json"));
  it("normalises the real wording and ids", () => {
    expect(notice).toMatchObject({
      id: "0NIH-U2O",
      revision: "636439673646212912~Active",
      stage: "Active",
      services: ["Virtual Machines"],
      regions: ["Australia East"],
      subscriptionIds: ["45529734-0ed9-4895-a0df-44b59a5a07f9"],
      impactStart: "2017-10-18T02:48:00.000Z",
      synthetic: false,
      publishedAt: "2017-10-18T23:49:25.373Z",
    });
    expect(notice.impactEnd).toBeUndefined();
    expect(notice.text).toContain('stopped "deallocated"');
  });
});

describe("maintenance alertContext fragment inside a common-schema envelope", () => {
  it("keeps Maintenance / Planned and the structured window", () => {
    const fragment = mutableFixture("microsoft-docs", "azure-monitor-common-schema-servicehealth-alertcontext-maintenance.json") as { alertContext: Record<string, unknown> };
    const alert = { schemaId: "azureMonitorCommonAlertSchema", data: { essentials: { monitoringService: "ServiceHealth", alertTargetIDs: [] }, alertContext: fragment.alertContext } };
    const notice = ok(alert);
    expect(notice).toMatchObject({ incidentType: "Maintenance", stage: "Planned", services: ["Azure Synapse Analytics"], regions: ["East US"] });
    expect(notice.impactStart).toBe("2019-06-26T04:00:00.000Z");
    expect(notice.impactEnd).toBe("2019-06-26T12:00:00.000Z");
  });
});

describe("quirks and bad input", () => {
  it("accepts channels and level as strings as well as numbers", () => {
    const alert = commonAlert() as { data: { alertContext: Record<string, unknown> } };
    alert.data.alertContext.channels = "Admin";
    alert.data.alertContext.level = "Informational";
    expect(ok(alert).id).toBe("ABC1-DEF");
  });

  it("falls back to service and region when impactedServices is not valid JSON", () => {
    const alert = commonAlert() as { data: { alertContext: { properties: Record<string, unknown> } } };
    alert.data.alertContext.properties.impactedServices = "[{broken";
    const notice = ok(alert);
    expect(notice.services).toEqual(["Azure Service Name"]);
    expect(notice.regions).toEqual(["Global"]);
  });

  it("rejects an unknown schemaId, naming it", () => {
    expect(errors({ schemaId: "Microsoft.Insights/LogAlert", data: {} })[0]).toMatch(/schemaId: expected one of .* got "Microsoft.Insights\/LogAlert"/);
  });

  it("rejects alerts from other monitoring services", () => {
    const alert = commonAlert() as { data: { essentials: Record<string, unknown> } };
    alert.data.essentials.monitoringService = "Platform";
    expect(errors(alert)).toContain("data.essentials.monitoringService: only ServiceHealth alerts are accepted");
  });

  it("lists each missing or mistyped field by path", () => {
    const alert = commonAlert() as { data: { alertContext: { properties: Record<string, unknown> } } };
    delete alert.data.alertContext.properties.trackingId;
    alert.data.alertContext.properties.communicationId = 42;
    alert.data.alertContext.properties.title = ["not", "text"];
    const problems = errors(alert);
    expect(problems).toEqual(expect.arrayContaining([
      expect.stringMatching(/^data\.alertContext\.properties\.trackingId: /),
      expect.stringMatching(/^data\.alertContext\.properties\.communicationId: /),
      expect.stringMatching(/^data\.alertContext\.properties\.title: /),
    ]));
  });

  it("rejects impossible timestamps", () => {
    const alert = commonAlert() as { data: { alertContext: { properties: Record<string, unknown> } } };
    alert.data.alertContext.properties.impactStartTime = "yesterday";
    expect(errors(alert)).toEqual(["impactStartTime: not an ISO 8601 timestamp"]);
  });

  it("rejects non-objects", () => {
    expect(errors([1, 2])).toEqual(["(root): expected a JSON object"]);
    expect(errors("text")).toEqual(["(root): expected a JSON object"]);
  });

  it("keeps ids full of key-breaking characters and unicode intact", () => {
    const notice = ok(commonAlert({ trackingId: "TRK/1#2?3\\4 – Überwachung", communicationId: "c/1?x" }));
    expect(notice.id).toBe("TRK/1#2?3\\4 – Überwachung");
    expect(notice.revision).toBe("c/1?x~Resolved");
  });
});
