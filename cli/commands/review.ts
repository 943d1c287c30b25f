/**
 * `review TENANT --from ISO --to ISO [--sources …] [--licence L] [--json]`: the same Graph review a control runs,
 * ad hoc for any time range (an investigator's tool). Reads Graph with the configured credentials (or the local
 * simulator through BLINDWINDOW_GRAPH_BASE_URL), needs no storage and writes nothing; progress goes to stderr,
 * the summary and findings to stdout (`--json`: JSON only).
 */
import { performance } from "node:perf_hooks";
import { loadSettings, processEnvironment, SettingsError } from "../../shared/config.js";
import { createGraphClientFactory } from "../../shared/adapters/graph/graphClientFactory.js";
import { graphConfigurationFromSettings } from "../../shared/adapters/graph/graphCredentials.js";
import { GraphReviewSource } from "../../shared/adapters/graph/graphReviewSource.js";
import { PASS_SOURCE, advancePass, startPass, type PassKind, type PassProgress } from "../../shared/app/reviewPass.js";
import { reviewOptionsFromSettings } from "../../shared/runtime.js";
import { compareFindings, findingId, type Detection, type Finding } from "../../shared/domain/finding.js";
import { toInstant } from "../../shared/domain/instant.js";
import { SIGN_IN_PORTAL_EXPORT, retentionDays } from "../../shared/domain/tenant.js";
import { AppError } from "../../shared/errors.js";
import { CliError, type CliIo, type CommandRegistrar } from "../program.js";
import { textTable } from "../textTable.js";

const SOURCE_PASS: Readonly<Record<string, PassKind>> = { "entra-signin": "signins", "entra-audit": "audits", "entra-risk": "risks" };
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

interface ReviewFlags {
  from: string;
  to: string;
  sources: string;
  licence?: string;
  json?: boolean;
  graphTimeScale: string;
}

interface SourceSummary {
  source: string;
  records: number;
  pages: number;
  hoursReviewed: number;
  /** Where the review stopped: before `--to` when that is within BLINDWINDOW_REVIEW_SETTLE_MINUTES of now. */
  reviewedTo: string;
  lost: { from: string; to: string } | null;
  findings: number;
  seconds: number;
}

/** A progress line on stderr: redrawn in place on a terminal, one line per 10 % otherwise (CI logs). */
function progressPrinter(io: CliIo, isTty: boolean) {
  let lastDecile = -1;
  return {
    update(label: string, p: PassProgress) {
      const ratio = p.hoursTotal > 0 ? Math.min(1, p.hoursDone / p.hoursTotal) : 1;
      const width = 24;
      const filled = Math.round(ratio * width);
      const text = `${label.padEnd(13)} [${"#".repeat(filled)}${"-".repeat(width - filled)}] ${(ratio * 100).toFixed(0).padStart(3)}%  ${p.records.toLocaleString("en-US")} records  ${String(p.pages)} pages${p.phase === "baseline" ? "  (baseline)" : ""}`;
      if (isTty) {
        process.stderr.write(`\r${text}`);
      } else {
        const decile = Math.floor(ratio * 10);
        if (decile !== lastDecile) {
          lastDecile = decile;
          io.err(text);
        }
      }
    },
    done() {
      if (isTty) process.stderr.write("\n");
      lastDecile = -1;
    },
  };
}

export const registerReview: CommandRegistrar = (program, io) => {
  program
    .command("review")
    .description("review a tenant's Entra sign-ins, directory audits and risk detections for any time range (reads Graph, writes nothing)")
    .argument("<tenant>", "tenant id (GUID)")
    .requiredOption("--from <iso>", "start of the range (ISO 8601)")
    .requiredOption("--to <iso>", "end of the range (ISO 8601, exclusive)")
    .option("--sources <list>", "comma-separated: entra-signin, entra-audit, entra-risk", "entra-signin,entra-audit,entra-risk")
    .option("--licence <licence>", "free, p1 or p2: report the hours already past the tenant's retention as lost")
    .option("--json", "print JSON only")
    .option("--graph-time-scale <n>", "divide Graph throttle windows by this (only against the simulator started with the same --time-scale)", "1")
    .action(async (tenant: string, flags: ReviewFlags) => {
      if (!GUID.test(tenant)) throw new CliError(`tenant must be a tenant id (GUID), not "${tenant.slice(0, 80)}"`);
      const from = toInstant(flags.from);
      const to = toInstant(flags.to);
      if (from === undefined) throw new CliError(`--from is not an ISO 8601 instant: "${flags.from.slice(0, 80)}"`);
      if (to === undefined) throw new CliError(`--to is not an ISO 8601 instant: "${flags.to.slice(0, 80)}"`);
      if (from >= to) throw new CliError("--from must be before --to");
      const sources = flags.sources.split(",").map((s) => s.trim()).filter((s) => s !== "");
      const unknown = sources.filter((s) => !(s in SOURCE_PASS));
      if (sources.length === 0 || unknown.length > 0) throw new CliError(`--sources must name entra-signin, entra-audit or entra-risk (got "${unknown.join(",") || flags.sources}")`);
      const licence = flags.licence;
      if (licence !== undefined && licence !== "free" && licence !== "p1" && licence !== "p2") throw new CliError("--licence must be free, p1 or p2");

      let settings;
      let options;
      try {
        settings = loadSettings(processEnvironment());
        options = reviewOptionsFromSettings(settings);
      } catch (error) {
        if (error instanceof SettingsError) throw new CliError(error.message);
        throw error;
      }
      const configuration = graphConfigurationFromSettings(settings);
      if (!configuration.configured) {
        throw new CliError(`Graph is not configured (${configuration.reason}): set BLINDWINDOW_GRAPH_CLIENT_ID with a secret or certificate, or BLINDWINDOW_GRAPH_BASE_URL for the local simulator`);
      }
      const timeScale = Number(flags.graphTimeScale);
      if (!Number.isFinite(timeScale) || timeScale < 1) throw new CliError("--graph-time-scale must be a number of at least 1");
      if (timeScale !== 1 && settings.BLINDWINDOW_GRAPH_BASE_URL === undefined) throw new CliError("--graph-time-scale is only for the Graph simulator (BLINDWINDOW_GRAPH_BASE_URL)");
      const reviewSource = new GraphReviewSource(createGraphClientFactory(settings, { timeScale }));
      const privileged = sources.includes("entra-signin") ? await reviewSource.privilegedUserIds(tenant) : [];
      const progress = progressPrinter(io, process.stderr.isTTY && !flags.json);
      const summaries: SourceSummary[] = [];
      const findings = new Map<string, Finding>();
      const windowId = `adhoc-${from}-${to}`;

      for (const source of sources) {
        const kind = SOURCE_PASS[source] as PassKind;
        const started = performance.now();
        const days = licence === undefined ? 36_500 : kind === "risks" ? 90 : retentionDays(licence);
        const first = startPass({ kind, tenantId: tenant, windowId, windowStart: from, windowEnd: to, retentionDays: days, detect: true, preserve: false, privilegedUserIds: privileged }, new Date(), options);
        const collect = (detections: readonly Detection[]) => {
          for (const d of detections) {
            const id = findingId(tenant, windowId, d);
            findings.set(id, { ...d, id, tenantId: tenant, windowId, source: PASS_SOURCE[kind], control: kind === "signins" ? "signin-review" : kind === "audits" ? "audit-review" : "risk-review" });
          }
        };
        const result = await advancePass({ source: reviewSource, stopwatch: () => performance.now() }, first, {
          options,
          stopAtMs: Number.POSITIVE_INFINITY,
          onCheckpoint: (_cp, detections, p) => {
            collect(detections);
            progress.update(source, p);
            return Promise.resolve(true);
          },
        }).catch((error: unknown) => {
          if (error instanceof AppError && error.code === "graph-licence-required") {
            throw new CliError(`${source}: Graph gives sign-in logs only to tenants with Entra ID P1 or P2 (403); ${SIGN_IN_PORTAL_EXPORT}, or review --sources entra-audit,entra-risk`);
          }
          throw error;
        });
        collect(result.final);
        progress.done();
        const cp = result.checkpoint;
        if (Date.parse(cp.reviewTo) < Date.parse(to)) {
          io.err(`${source}: reviewed up to ${cp.reviewTo}: Graph may still be adding the records of the last ${String(settings.BLINDWINDOW_REVIEW_SETTLE_MINUTES)} minutes (BLINDWINDOW_REVIEW_SETTLE_MINUTES); review the rest later`);
        }
        summaries.push({
          source,
          records: Object.values(cp.recordsRead).reduce((a, b) => a + b, 0),
          pages: cp.pages,
          hoursReviewed: Math.round((Date.parse(cp.reviewTo) - Date.parse(cp.reviewFrom)) / 3_600_000),
          reviewedTo: cp.reviewTo,
          lost: cp.lost,
          findings: [...findings.values()].filter((f) => f.source === source).length,
          seconds: Math.round((performance.now() - started) / 100) / 10,
        });
      }

      const ordered = [...findings.values()].sort(compareFindings);
      if (flags.json) {
        io.out(JSON.stringify({ tenantId: tenant, from, to, sources: summaries, findings: ordered }));
        return;
      }
      io.out(textTable(
        ["source", "records", "pages", "hours", "lost to retention", "findings", "seconds"],
        summaries.map((s) => [s.source, s.records.toLocaleString("en-US"), String(s.pages), String(s.hoursReviewed), s.lost ? `${s.lost.from} → ${s.lost.to}` : "none", String(s.findings), s.seconds.toFixed(1)]),
      ));
      io.out("");
      io.out(ordered.length === 0
        ? "no findings"
        : textTable(["severity", "rule", "subject", "first seen", "count", "explanation"], ordered.map((f) => [f.severity, f.rule, f.subject.name ?? f.subject.id, f.firstSeen, String(f.count), f.explanation])));
    });
};
