import type { IssueQuery, ServiceHealthSource } from "../../app/pollServiceHealth.js";
import type { GraphClientFactory } from "./graphClientFactory.js";
import { graphFilter } from "./graphPager.js";

/**
 * Service health issues through Graph: `GET /admin/serviceAnnouncement/issues` (permission ServiceHealth.Read.All,
 * application), which supports `$filter`, `$select` and `$top`
 * (https://learn.microsoft.com/graph/api/serviceannouncement-list-issues). Two simple filters instead of one `or`:
 * `lastModifiedDateTime ge …` and `isResolved eq false`, each a documented filterable property.
 */

/** The properties normaliseServiceHealthIssue reads; `details` and the rest stay on Graph. */
export const SERVICE_HEALTH_ISSUE_SELECT = [
  "id", "title", "service", "impactDescription", "classification", "status", "origin", "feature", "featureGroup",
  "isResolved", "posts", "startDateTime", "endDateTime", "lastModifiedDateTime",
] as const;

/** Issues per page: Graph's default and a size where one page is small (posts are HTML). */
export const SERVICE_HEALTH_PAGE_SIZE = 100;

export class GraphServiceHealthSource implements ServiceHealthSource {
  constructor(private readonly graph: GraphClientFactory, private readonly pageSize = SERVICE_HEALTH_PAGE_SIZE) {}

  async *issuePages(tenantId: string, query: IssueQuery): AsyncIterable<unknown[]> {
    const filter =
      query.kind === "modifiedSince" ? graphFilter`lastModifiedDateTime ge ${new Date(query.since)}`
      : query.kind === "unresolved" ? graphFilter`isResolved eq ${false}`
      : undefined;
    const pages = this.graph(tenantId).pages("/admin/serviceAnnouncement/issues", {
      select: SERVICE_HEALTH_ISSUE_SELECT,
      top: this.pageSize,
      timestampField: "lastModifiedDateTime",
      ...(filter ? { filter } : {}),
    });
    for await (const page of pages) yield page.items;
  }
}
