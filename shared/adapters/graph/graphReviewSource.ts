import { ResumeRejectedError, type ReviewPage, type ReviewSource, type ReviewStream } from "../../app/reviewSource.js";
import { GraphRequestError } from "./graphErrors.js";
import type { GraphClientFactory } from "./graphClientFactory.js";
import { graphFilter, type PageOptions } from "./graphPager.js";

/**
 * Built-in directory roles whose holders count as privileged (role template ids are the same in every tenant:
 * https://learn.microsoft.com/entra/identity/role-based-access-control/permissions-reference).
 */
export const PRIVILEGED_ROLE_TEMPLATE_IDS: Readonly<Record<string, string>> = {
  "62e90394-69f5-4237-9190-012177145e10": "Global Administrator",
  "e8611ab8-c189-46e8-94e1-60213ab1f814": "Privileged Role Administrator",
  "7be44c8a-adaf-4e2a-84d6-ab2649e08a13": "Privileged Authentication Administrator",
  "194ae4cb-b126-40b2-bd5b-6091b380977d": "Security Administrator",
  "29232cdf-9323-42fd-ade2-1d097af3e4de": "Exchange Administrator",
  "f28a1f50-f6e7-4571-818b-6a12f2af6b6c": "SharePoint Administrator",
  "fe930be7-5e62-47db-91af-98c3a49a38b1": "User Administrator",
  "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3": "Application Administrator",
  "158c047a-c907-4556-b7ef-446551a6b5f7": "Cloud Application Administrator",
  "b1be1c3e-b65d-4f19-8427-f6fa0d97feb9": "Conditional Access Administrator",
  "c4e39bd9-1100-46d3-8c65-fb160da0071f": "Authentication Administrator",
  "729827e3-9c14-49f7-bb1b-9608f156bbb8": "Helpdesk Administrator",
  "8ac3fc64-6eca-42ea-9e69-59f4c7b60eb2": "Hybrid Identity Administrator",
  "3a2c62db-5318-420d-8d74-23affee5d9d5": "Intune Administrator",
};

/** Sign-in types v1.0 does not return (DESIGN.md "Microsoft Graph"): read through beta's `signInEventTypes`. */
const NON_INTERACTIVE = ["nonInteractiveUser", "servicePrincipal", "managedIdentity"] as const;

interface StreamQuery {
  path: string;
  version: "v1.0" | "beta";
  filter: (from: Date, to: Date) => string;
  top: number;
}

const STREAMS: Readonly<Record<ReviewStream, StreamQuery>> = {
  "signIns:v1.0": {
    path: "/auditLogs/signIns",
    version: "v1.0",
    filter: (from, to) => graphFilter`createdDateTime ge ${from} and createdDateTime lt ${to}`,
    top: 1000,
  },
  "signIns:beta": {
    path: "/auditLogs/signIns",
    version: "beta",
    filter: (from, to) =>
      graphFilter`createdDateTime ge ${from} and createdDateTime lt ${to}` +
      ` and signInEventTypes/any(t: ${NON_INTERACTIVE.map((type) => graphFilter`t eq ${type}`).join(" or ")})`,
    top: 1000,
  },
  directoryAudits: {
    path: "/auditLogs/directoryAudits",
    version: "v1.0",
    filter: (from, to) => graphFilter`activityDateTime ge ${from} and activityDateTime lt ${to}`,
    top: 1000,
  },
  riskDetections: {
    path: "/identityProtection/riskDetections",
    version: "v1.0",
    filter: (from, to) => graphFilter`detectedDateTime ge ${from} and detectedDateTime lt ${to}`,
    // Identity Protection pages hold at most 500 (riskDetection list: $top 1–500).
    top: 500,
  },
};

/** The Graph queries a review makes, through the client factory (throttle budget, retries, paging). */
export class GraphReviewSource implements ReviewSource {
  constructor(private readonly graph: GraphClientFactory) {}

  async *pages(tenantId: string, stream: ReviewStream, from: Date, to: Date, select: readonly string[] | undefined, resume?: string): AsyncIterable<ReviewPage> {
    const q = STREAMS[stream];
    const options: PageOptions<unknown> = {
      filter: q.filter(from, to),
      top: q.top,
      version: q.version,
      ...(select ? { select } : {}),
      ...(resume !== undefined ? { checkpoint: { nextLink: resume, lastTimestamp: null } } : {}),
    };
    let first = true;
    try {
      for await (const page of this.graph(tenantId).pages(q.path, options)) {
        first = false;
        yield { items: page.items, nextLink: page.checkpoint.nextLink };
      }
    } catch (error) {
      // A 4xx on a stored nextLink: its $skiptoken expired (Graph keeps them a limited time) or never was Graph's.
      if (first && resume !== undefined && error instanceof GraphRequestError && error.code === "graph-bad-request") throw new ResumeRejectedError(stream, { cause: error });
      throw error;
    }
  }

  describe(stream: ReviewStream, from: Date, to: Date, select: readonly string[] | undefined): { request: string; filter: string; select?: string[] } {
    const q = STREAMS[stream];
    return { request: `GET /${q.version}${q.path}`, filter: q.filter(from, to), ...(select ? { select: [...select] } : {}) };
  }

  async privilegedUserIds(tenantId: string): Promise<string[]> {
    const ids = new Set<string>();
    const pages = this.graph(tenantId).pages<{ principalId?: unknown; roleDefinitionId?: unknown }>("/roleManagement/directory/roleAssignments", {
      select: ["principalId", "roleDefinitionId"],
    });
    for await (const page of pages) {
      for (const a of page.items) {
        if (typeof a.principalId === "string" && typeof a.roleDefinitionId === "string" && a.roleDefinitionId in PRIVILEGED_ROLE_TEMPLATE_IDS) ids.add(a.principalId);
      }
    }
    return [...ids].sort();
  }

  throttledSoFar(): number {
    return this.graph.stats().throttled;
  }
}
