import { huntQueries } from "../domain/huntQueries.js";
import type { LogSourceId } from "../domain/logSource.js";
import type { HuntQuery } from "../domain/task.js";

/** The hunt queries of a window with its times filled in (shared/domain/huntQueries.ts). */
export type HuntQueriesFor = (window: { tenantId: string; source: LogSourceId; start: string; end: string | null }, nowIso: string) => HuntQuery[];

export const defaultHuntQueries: HuntQueriesFor = (window, nowIso) => huntQueries(window, nowIso);
