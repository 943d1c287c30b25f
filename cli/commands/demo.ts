/**
 * `demo [--out DIR] [--scale N] [--json]` (also `npm run demo`): the September 2024 incident through the whole
 * product on this machine (local/demo.ts), then a summary table and the incident reports.
 */
import path from "node:path";
import { runDemo, summaryTable, type DemoOptions } from "../../local/demo.js";
import { writeReports } from "./report.js";
import { CliError, type CommandRegistrar } from "../program.js";

export const registerDemo: CommandRegistrar = (program, io) => {
  program
    .command("demo")
    .description("replay the September 2024 logging incident end to end on this machine (no Azure account needed)")
    .option("--out <dir>", "where the incident reports are written", "reports")
    .option("--scale <n>", "Graph throttle windows are divided by this so the demo takes a minute", "20")
    .option("--json", "print the result as JSON only")
    .option("--verbose", "also print the local host's log (stderr)")
    .action(async (flags: { out: string; scale: string; json?: boolean; verbose?: boolean }) => {
      const scale = Number(flags.scale);
      if (!Number.isFinite(scale) || scale < 1 || scale > 1000) throw new CliError("--scale must be a number from 1 to 1000");
      const options: DemoOptions = {
        scale,
        outDir: path.resolve(flags.out),
        timeoutMs: 100_000,
        ...(flags.verbose ? { verbose: (line: string) => { io.err(line); } } : {}),
      };
      const quiet = flags.json === true;
      const result = await runDemo(
        { out: (text) => { if (!quiet) io.out(text); }, progress: { write: (text) => { if (!quiet) process.stderr.write(text); }, tty: process.stderr.isTTY } },
        options,
        { writeReports: async (services, dir, now) => (await writeReports(services, { outDir: dir, now })).flatMap((w) => [w.html, w.markdown]) },
      );
      if (quiet) io.out(JSON.stringify(result));
      else io.out(`\n${summaryTable(result, options)}`);
    });
};
