import type { Logger } from "../app/ports.js";

type Level = "debug" | "info" | "warn" | "error";
const ORDER: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/** Field names whose values are never written (STYLE.md habit 10). */
const SECRET_FIELD = /(secret|token|password|passwd|authorization|signature|credential|connectionstring|apikey|accountkey|functionkey|^key$|^code$|^sig$)/i;
/** Values that look like secrets wherever they appear: bearer tokens / JWTs, account keys, SAS signatures, function keys in URLs. */
const SECRET_VALUE = [
  /Bearer\s+[A-Za-z0-9._~+/-]+=*/g,
  /eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*/g,
  /(AccountKey|SharedAccessSignature|sig|code|key)=([^;&\s"]+)/gi,
];

export function redact(value: unknown, depth = 0): unknown {
  if (typeof value === "string") {
    let out = value;
    for (const pattern of SECRET_VALUE) out = out.replace(pattern, (m, name?: string) => (typeof name === "string" && m.includes("=") ? `${name}=[redacted]` : "[redacted]"));
    return out;
  }
  if (depth > 4 || value === null || typeof value !== "object") return value;
  if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1));
  return Object.fromEntries(
    Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, SECRET_FIELD.test(k) ? "[redacted]" : redact(v, depth + 1)]),
  );
}

export type LogSink = (level: Level, line: string) => void;

/** A structured logger writing one JSON line per entry to `sink`, with secrets redacted. */
export function createLogger(sink: LogSink, minimum: Level = "info", base: Record<string, unknown> = {}): Logger {
  const write = (level: Level, message: string, fields?: Record<string, unknown>): void => {
    if (ORDER[level] < ORDER[minimum]) return;
    sink(level, JSON.stringify({ level, message: redact(message), ...(redact({ ...base, ...fields }) as Record<string, unknown>) }));
  };
  return {
    debug: (m, f) => { write("debug", m, f); },
    info: (m, f) => { write("info", m, f); },
    warn: (m, f) => { write("warn", m, f); },
    error: (m, f) => { write("error", m, f); },
  };
}

/** Logs through an Azure Functions InvocationContext (so entries carry the invocation id in Application Insights). */
export function invocationLogger(
  context: { debug(...a: unknown[]): void; info(...a: unknown[]): void; warn(...a: unknown[]): void; error(...a: unknown[]): void },
  minimum: Level = "info",
): Logger {
  return createLogger((level, line) => {
    context[level](line);
  }, minimum);
}

export const silentLogger: Logger = createLogger(() => undefined, "error");
