import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "fixtures");

export function fixturePath(...parts: string[]): string {
  return path.join(root, ...parts);
}

export function fixtureText(...parts: string[]): string {
  return readFileSync(fixturePath(...parts), "utf8");
}

export function fixtureJson(...parts: string[]): unknown {
  return JSON.parse(fixtureText(...parts));
}

/** A deep copy of a JSON fixture that a test may mutate. */
export function mutableFixture(...parts: string[]): unknown {
  return structuredClone(fixtureJson(...parts));
}

/** The common-schema test-action sample as a real (non-synthetic) alert with the given ids. */
export function commonAlert(overrides: { trackingId?: string; communicationId?: string; stage?: string; synthetic?: boolean; subscription?: string; eventTimestamp?: string } = {}): Record<string, unknown> {
  const alert = mutableFixture("microsoft-docs", "azure-monitor-common-schema-servicehealth-testaction.json") as {
    data: { essentials: { alertTargetIDs: string[] }; alertContext: { eventTimestamp: string; properties: Record<string, unknown> } };
  };
  const p = alert.data.alertContext.properties;
  if (overrides.trackingId !== undefined) p.trackingId = overrides.trackingId;
  if (overrides.communicationId !== undefined) p.communicationId = overrides.communicationId;
  if (overrides.stage !== undefined) p.stage = overrides.stage;
  p.IsSynthetic = overrides.synthetic === true ? "True" : "False";
  if (overrides.subscription) alert.data.essentials.alertTargetIDs = [`/subscriptions/${overrides.subscription}`];
  if (overrides.eventTimestamp) alert.data.alertContext.eventTimestamp = overrides.eventTimestamp;
  return alert;
}
