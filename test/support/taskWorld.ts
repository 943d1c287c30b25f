import type { WorkQueue, QueueName } from "../../shared/app/ports.js";
import type { ControlState, ControlStore, ControlSummary, FindingStore } from "../../shared/app/reviewPorts.js";
import type { ControlType } from "../../shared/app/ledgerPorts.js";
import type { BlindWindow } from "../../shared/domain/blindWindow.js";
import { findingId, type Finding } from "../../shared/domain/finding.js";
import type { HuntQuery } from "../../shared/domain/task.js";
import type { TenantProfile } from "../../shared/domain/tenant.js";

/** Builders for task tests: windows, control summaries, findings and hunt queries of one tenant. */

export function blindWindow(tenantId: string, overrides: Partial<BlindWindow> = {}): BlindWindow {
  return {
    tenantId,
    source: "entra-signin",
    windowId: "w0123456789abcdef",
    start: "2024-09-02T23:00:00.000Z",
    end: "2024-09-19T00:00:00.000Z",
    effect: "loss",
    status: "resolved",
    notices: ["manual~PIR-1"],
    reviewDeadline: "2024-10-02T23:00:00.000Z",
    history: [],
    ...overrides,
  };
}

export function controlSummary(window: BlindWindow, control: ControlType, state: ControlState, overrides: Partial<ControlSummary> = {}): ControlSummary {
  return {
    tenantId: window.tenantId,
    windowId: window.windowId,
    source: window.source,
    control,
    state,
    windowStart: window.start,
    windowEnd: window.end,
    reviewDeadline: window.reviewDeadline,
    recordsRead: state === "planned" ? {} : { "signIns:v1.0": 1200 },
    pages: 2,
    throttledWaits: 0,
    durationMs: 1000,
    coverage: { reviewedFrom: window.start, reviewedTo: state === "done" ? window.end : null, lostFrom: null, lostTo: null },
    findings: 0,
    ...overrides,
  };
}

export function finding(window: Pick<BlindWindow, "tenantId" | "windowId" | "source">, n: number, overrides: Partial<Finding> = {}): Finding {
  const subject = overrides.subject ?? { kind: "user" as const, id: `00000000-0000-4000-8000-${String(n).padStart(12, "0")}`, name: `user${String(n)}@contoso.example` };
  const base = {
    rule: "password-spray" as const,
    severity: "high" as const,
    subject,
    explanation: `Password spray against user${String(n)} from 203.0.113.${String(n % 250)}`,
    firstSeen: "2024-09-05T10:00:00.000Z",
    lastSeen: "2024-09-05T11:00:00.000Z",
    count: 12,
    sampleIds: [`sample-${String(n)}`],
    ipAddresses: [`203.0.113.${String(n % 250)}`],
  };
  const merged = { ...base, ...overrides };
  return {
    ...merged,
    id: overrides.id ?? findingId(window.tenantId, window.windowId, merged),
    tenantId: window.tenantId,
    windowId: window.windowId,
    source: window.source,
    control: "signin-review",
  };
}

export function huntQuery(n: number, window: Pick<BlindWindow, "start" | "end">): HuntQuery {
  return {
    id: `hunt-${String(n)}`,
    product: n % 2 === 0 ? "Sentinel" : "Defender XDR",
    title: `Sign-ins from new countries (${String(n)})`,
    why: "Sign-in logs for the window are incomplete; hunt in the sources that kept data.",
    kql: `SigninLogs\n| where TimeGenerated between (datetime(${window.start}) .. datetime(${window.end ?? "now"}))\n| summarize count() by UserPrincipalName`,
  };
}

/** A tenant profile with every channel: the simulator's workflow URL, a plan, a sender and an escalation contact. */
export function tenantWithChannels(tenantId: string, name: string, workflowUrl: string, overrides: Partial<TenantProfile["contacts"]> = {}): TenantProfile {
  const domain = name.toLowerCase().replace(/[^a-z]/g, "");
  return {
    tenantId,
    name,
    subscriptions: [],
    regions: [],
    logSources: ["entra-signin", "entra-audit", "sentinel"],
    licence: "p2",
    onboardedAt: "2024-01-01T00:00:00.000Z",
    contacts: {
      emails: [`soc@${domain}.example`, `lead@${domain}.example`],
      teamsWorkflowUrl: workflowUrl,
      planner: { planId: `plan${domain}0000000000000000`.slice(0, 28), bucketId: "bucket000000000000000000000A" },
      mailSender: `blindwindow@${domain}.example`,
      escalation: `ciso@${domain}.example`,
      ...overrides,
    },
  };
}

/** Controls and findings in memory (the ports the task use cases read), per tenant and window. */
export class MemoryReviews implements ControlStore, Pick<FindingStore, "listFindings"> {
  controls: ControlSummary[] = [];
  findings: Finding[] = [];

  // eslint-disable-next-line @typescript-eslint/require-await -- the port is async
  async *listControls(tenantId: string, windowId?: string): AsyncIterable<ControlSummary> {
    for (const c of this.controls) if (c.tenantId === tenantId && (windowId === undefined || c.windowId === windowId)) yield c;
  }

  // eslint-disable-next-line @typescript-eslint/require-await -- the port is async
  async *listFindings(tenantId: string, windowId?: string): AsyncIterable<Finding> {
    for (const f of this.findings) if (f.tenantId === tenantId && (windowId === undefined || f.windowId === windowId)) yield f;
  }

  setControls(window: BlindWindow, states: Partial<Record<ControlType, ControlState>>, overrides: Partial<ControlSummary> = {}): void {
    this.controls = this.controls.filter((c) => !(c.tenantId === window.tenantId && c.windowId === window.windowId));
    for (const [control, state] of Object.entries(states) as [ControlType, ControlState][]) this.controls.push(controlSummary(window, control, state, overrides));
  }
}

export interface SentMessage {
  queue: string;
  message: unknown;
  delaySeconds?: number;
}

/** Records every message sent (and forwards it to `inner` when given), so a test can drive the queue by hand. */
export class RecordingQueue implements WorkQueue {
  readonly sent: SentMessage[] = [];
  private taken = 0;
  constructor(private readonly inner?: WorkQueue) {}

  async send(queue: QueueName | `${QueueName}-poison`, message: unknown, options: { delaySeconds?: number } = {}): Promise<void> {
    this.sent.push({ queue, message, ...(options.delaySeconds === undefined ? {} : { delaySeconds: options.delaySeconds }) });
    await this.inner?.send(queue, message, options);
  }

  /** Messages for `queue` sent since the last call. */
  take(queue: string): SentMessage[] {
    const fresh = this.sent.slice(this.taken);
    this.taken = this.sent.length;
    return fresh.filter((m) => m.queue === queue);
  }
}
