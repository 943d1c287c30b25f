import { parseNoticeDocument } from "../domain/noticeDocument.js";
import { ValidationError } from "../errors.js";
import { recordNotice, type RecordNoticeDeps, type RecordNoticeResult } from "./recordNotice.js";

/**
 * Records a notice document of any accepted format (the CLI's `ingest FILE`), through the same use case as the
 * HTTP routes.
 */
export async function ingestNoticeDocument(deps: RecordNoticeDeps, json: unknown, raw: string): Promise<RecordNoticeResult & { title: string; synthetic: boolean }> {
  const parsed = parseNoticeDocument(json, deps.clock.now());
  if (!parsed.ok) throw new ValidationError("The notice is not valid", parsed.errors, "invalid-notice");
  const result = await recordNotice(deps, parsed.notice, raw);
  return { ...result, title: parsed.notice.title, synthetic: parsed.notice.synthetic };
}
