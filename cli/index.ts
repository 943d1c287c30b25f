#!/usr/bin/env node
/**
 * The operator's command line (`npm run -s cli -- <command>`). Each command lives in cli/commands/ and is listed here.
 */
import { runCli } from "./program.js";
import { registerAssess } from "./commands/assess.js";
import { registerIngest } from "./commands/ingest.js";
import { registerSimulator } from "./commands/simulator.js";

const code = await runCli(process.argv.slice(2), [registerAssess, registerIngest, registerSimulator]);
process.exitCode = code;
