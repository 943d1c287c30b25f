import { readJsonFile } from "../readJsonFile.js";
import { assessNotice, type Assessment } from "../../shared/domain/assessNotice.js";
import type { Notice } from "../../shared/domain/notice.js";
import { parseNoticeDocument } from "../../shared/domain/noticeDocument.js";
import { CliError, type CliIo, type CommandRegistrar } from "../program.js";

/** One assessed notice as the command prints it with `--json`. */
export interface AssessedNotice {
  notice: { source: Notice["source"]; id: string; revision: string; title: string };
  assessment: Assessment;
}

/**
 * `assess FILE [--json]`: prints what a notice means for telemetry, without storing anything. FILE holds one notice
 * (Azure Monitor alert, Graph serviceHealthIssue or manual notice), a Graph list response `{ value: [issue, …] }` or a
 * Graph health overview `{ issues: [issue, …] }`; for a list the output is an array.
 */
export const registerAssess: CommandRegistrar = (program, io) => {
  program
    .command("assess")
    .description("assess a notice file (Azure Monitor alert, Graph serviceHealthIssue or list, manual notice): relevance, effect, log sources, window")
    .argument("<file>", "JSON file with the notice")
    .option("--json", "print the assessment as JSON only")
    .action(async (file: string, options: { json?: boolean }) => {
      const json = (await readJsonFile(file)).json;
      // The clock is read here, at the edge: it only stands in for a manual notice's missing publishedAt.
      const now = new Date();
      const list = graphList(json);
      const documents = list ?? [json];
      const assessed = documents.map((document, index) => {
        const parsed = parseNoticeDocument(document, now);
        if (!parsed.ok) {
          const where = list ? `${file} item ${index}` : file;
          throw new CliError(`${where} is not a notice: ${parsed.errors.join("; ").replace(/\s+/g, " ")}`);
        }
        const { source, id, revision, title } = parsed.notice;
        return { notice: { source, id, revision, title }, assessment: assessNotice(parsed.notice) };
      });
      if (options.json) {
        io.out(JSON.stringify(list ? assessed.map((a) => a.assessment) : assessed[0]?.assessment, null, 2));
        return;
      }
      assessed.forEach((a, i) => {
        if (i > 0) io.out("");
        printSummary(io, a);
      });
    });
};


/** The issues of a Graph list response (`value`) or health overview (`issues`); undefined for a single document. */
function graphList(json: unknown): unknown[] | undefined {
  if (typeof json !== "object" || json === null || Array.isArray(json)) return undefined;
  const o = json as Record<string, unknown>;
  if (Array.isArray(o.value) && !("title" in o)) return o.value as unknown[];
  if (Array.isArray(o.issues) && !("title" in o)) return o.issues as unknown[];
  return undefined;
}

function printSummary(io: CliIo, { notice, assessment: a }: AssessedNotice): void {
  const lines = [
    `${notice.source} ${notice.id}: ${notice.title}`,
    `  relevant: ${a.relevant ? "yes" : "no"}${a.synthetic ? " (test action)" : ""}`,
    `  effect:   ${a.effect}`,
    `  sources:  ${a.sources.length > 0 ? a.sources.join(", ") : "(none)"}`,
    `  window:   ${a.window.start ?? "?"} → ${a.window.end ?? "open"}${a.window.end ? " (end exclusive)" : ""}`,
    "  evidence:",
    ...a.evidence.map((e) => `    - ${e}`),
  ];
  io.out(lines.join("\n"));
}
