import { readJsonFile } from "../readJsonFile.js";
import { createLogger } from "../../shared/adapters/logger.js";
import { ingestNoticeDocument } from "../../shared/app/ingestNotice.js";
import { AppError } from "../../shared/errors.js";
import { CliError, type CommandRegistrar } from "../program.js";
import { withStorage } from "../storage.js";

/** `ingest FILE [--json]`: records a notice file exactly as the intake routes would. */
export const registerIngest: CommandRegistrar = (program, io) => {
  program
    .command("ingest")
    .description("record a notice (Azure Monitor alert, Graph serviceHealthIssue or manual notice JSON) through the intake use case")
    .argument("<file>", "JSON file with the notice")
    .option("--json", "print the result as JSON only")
    .action(async (file: string, options: { json?: boolean }) => {
      const { json, raw } = await readJsonFile(file);
      await withStorage(io, async (services) => {
        const logger = createLogger((_level, line) => { io.err(line); }, "warn");
        try {
          const result = await ingestNoticeDocument({ ...services, logger }, json, raw);
          if (options.json) io.out(JSON.stringify(result));
          else io.out(`${result.duplicate ? "already recorded" : "recorded"}: ${result.noticeKey} revision ${result.revision}${result.synthetic ? " (test action)" : ""} — ${result.title}`);
        } catch (error) {
          if (error instanceof AppError) throw new CliError(`${error.message}${error.problems.length ? `: ${error.problems.join("; ")}` : ""}`);
          throw error;
        }
      });
    });
};
