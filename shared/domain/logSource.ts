import { z } from "zod";

/** The fixed log-source ids of ../shared/DESIGN.md ("Vocabulary"). */
export const LOG_SOURCE_IDS = [
  "entra-signin",
  "entra-audit",
  "entra-risk",
  "sentinel",
  "defender-cloud",
  "defender-xdr",
  "purview-audit",
  "azure-activity",
  "azure-monitor",
] as const;

export const LogSourceIdSchema = z.enum(LOG_SOURCE_IDS);
export type LogSourceId = z.infer<typeof LogSourceIdSchema>;
