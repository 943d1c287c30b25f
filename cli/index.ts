#!/usr/bin/env node
/**
 * The operator's command line (`npm run -s cli -- <command>`). Each command lives in cli/commands/ and is listed here.
 */
import { runCli } from "./program.js";
import { registerAssess } from "./commands/assess.js";
import { registerIngest } from "./commands/ingest.js";
import { registerSimulator } from "./commands/simulator.js";
import { registerTenants } from "./commands/tenants.js";
import { registerWindows } from "./commands/windows.js";
import { registerTasks } from "./commands/tasks.js";
import { registerReview } from "./commands/review.js";
import { registerDemo } from "./commands/demo.js";
import { registerReport } from "./commands/report.js";

const code = await runCli(process.argv.slice(2), [registerAssess, registerIngest, registerTenants, registerWindows, registerTasks, registerReview, registerReport, registerDemo, registerSimulator]);
process.exitCode = code;
