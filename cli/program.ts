import { Command, CommanderError } from "commander";

/** A CLI failure the operator can act on: printed as one line, exit code non-zero. */
export class CliError extends Error {
  override readonly name = "CliError";
  constructor(message: string, readonly exitCode = 1) {
    super(message);
  }
}

export interface CliIo {
  out(text: string): void;
  err(text: string): void;
}

export const processIo: CliIo = {
  out: (text) => process.stdout.write(text.endsWith("\n") ? text : `${text}\n`),
  err: (text) => process.stderr.write(text.endsWith("\n") ? text : `${text}\n`),
};

/** A command module: adds its sub-command(s) to the program. */
export type CommandRegistrar = (program: Command, io: CliIo) => void;

/** Error lines echo operator input (file names): control characters are shown escaped, so the error stays one line. */
// eslint-disable-next-line no-control-regex -- control characters are exactly what must not reach the terminal raw
const oneLine = (text: string): string => text.replace(/[\u0000-\u001f\u007f-\u009f]/gu, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);

/** Runs the CLI with argv (without node and script); returns the exit code instead of exiting. */
export async function runCli(argv: string[], registrars: CommandRegistrar[], io: CliIo = processIo): Promise<number> {
  const program = new Command("blindwindow")
    .description("blindwindow: blind windows in security telemetry, their compensating controls and tasks")
    .exitOverride()
    .configureOutput({ writeOut: (s) => { io.out(s.replace(/\n$/, "")); }, writeErr: (s) => { io.err(s.replace(/\n$/, "")); } })
    .showHelpAfterError(false);
  for (const register of registrars) register(program, io);
  for (const sub of program.commands) sub.exitOverride();
  try {
    await program.parseAsync(argv, { from: "user" });
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      return error.exitCode === 0 ? 0 : error.exitCode;
    }
    if (error instanceof CliError) {
      io.err(`blindwindow: ${oneLine(error.message)}`);
      return error.exitCode;
    }
    const message = error instanceof Error ? error.message : String(error);
    io.err(`blindwindow: ${message.split("\n")[0] ?? "unexpected error"}`);
    return 1;
  }
}
