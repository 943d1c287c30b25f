import { isAzureMonitorAlert, normaliseAzureMonitorAlert } from "./azureMonitorNotice.js";
import { isManualNotice, normaliseManualNotice } from "./manualNotice.js";
import { isServiceHealthIssue, normaliseServiceHealthIssue } from "./m365Notice.js";
import type { Notice } from "./notice.js";

export type NoticeDocumentResult = { ok: true; notice: Notice } | { ok: false; errors: string[] };

/**
 * Recognises any notice format blindwindow accepts (Azure common alert schema, legacy activity-log schema, manual
 * notice) and normalises it. Used by the CLI, which takes a file of unknown format; the HTTP routes each accept one
 * family and call its normaliser directly.
 */
export function parseNoticeDocument(json: unknown, now: Date): NoticeDocumentResult {
  if (isAzureMonitorAlert(json)) return toDocumentResult(normaliseAzureMonitorAlert(json));
  // Before the manual check: a Graph issue is recognised by id/title/service/posts + status or classification.
  if (isServiceHealthIssue(json)) return normaliseServiceHealthIssue(json);
  if (isManualNotice(json)) return toDocumentResult(normaliseManualNotice(json, now));
  return {
    ok: false,
    errors: [
      "(root): not a recognised notice: expected an Azure Monitor alert (schemaId azureMonitorCommonAlertSchema or Microsoft.Insights/activityLogs), a Microsoft Graph serviceHealthIssue, or a manual notice { title, body }",
    ],
  };
}

function toDocumentResult(result: { ok: true; value: Notice } | { ok: false; errors: string[] }): NoticeDocumentResult {
  return result.ok ? { ok: true, notice: result.value } : result;
}
