/**
 * KQL checked by Microsoft's own parser and semantic analyser (Kusto.Language, the library behind the Kusto editors,
 * published for JavaScript as @kusto/language-service-next): a query against declared tables gets the diagnostics
 * Log Analytics or advanced hunting would give it before running (syntax, unknown tables and columns, wrong types,
 * join keys missing on one side).
 *
 * The package is a Bridge.NET translation that installs itself as the globals `Bridge` and `Kusto`; only the few
 * members used here are typed.
 */
import { createRequire } from "node:module";

interface Diagnostic {
  Severity: string;
  Code: string;
  Message: string;
  Start: number;
  Length: number;
}
interface ReadOnlyList<T> {
  Count: number;
  getItem(index: number): T;
}
interface KustoCode {
  GetDiagnostics(): ReadOnlyList<Diagnostic>;
}
interface TableSymbol {
  WithName(name: string): TableSymbol;
}
interface GlobalState {
  WithDatabase(database: unknown): GlobalState;
}
interface KustoLanguage {
  KustoCode: { ParseAndAnalyze(text: string, globals: GlobalState): KustoCode };
  GlobalState: { Default: GlobalState };
  Symbols: {
    TableSymbol: { From(schema: string): TableSymbol };
    DatabaseSymbol: { ctor: new (name: string, members: TableSymbol[]) => unknown };
  };
}

let language: KustoLanguage | undefined;

function kusto(): KustoLanguage {
  if (!language) {
    const require = createRequire(import.meta.url);
    require("@kusto/language-service-next/bridge.js");
    require("@kusto/language-service-next/Kusto.Language.Bridge.js");
    language = (globalThis as unknown as { Kusto: { Language: KustoLanguage } }).Kusto.Language;
  }
  return language;
}

/** Table name → its columns as Kusto declares them: `Name:type, Other:type`. */
export type TableSchemas = Readonly<Record<string, string>>;

/** What the analyser makes of a query. */
export interface KqlDiagnostic {
  severity: string;
  code: string;
  message: string;
  /** The query text the diagnostic points at. */
  at: string;
}

/** A database (a workspace, or the advanced hunting schema) holding `tables`, to analyse queries against. */
export function kqlDatabase(tables: TableSchemas): GlobalState {
  const k = kusto();
  const symbols = Object.entries(tables).map(([name, columns]) => k.Symbols.TableSymbol.From(`(${columns})`).WithName(name));
  return k.GlobalState.Default.WithDatabase(new k.Symbols.DatabaseSymbol.ctor("workspace", symbols));
}

/** Every diagnostic (errors and warnings) the parser and analyser give `text` against `database`. */
export function analyseKql(text: string, database: GlobalState): KqlDiagnostic[] {
  const list = kusto().KustoCode.ParseAndAnalyze(text, database).GetDiagnostics();
  const out: KqlDiagnostic[] = [];
  for (let i = 0; i < list.Count; i++) {
    const d = list.getItem(i);
    out.push({ severity: d.Severity, code: d.Code, message: d.Message, at: text.slice(d.Start, d.Start + Math.max(d.Length, 1)) });
  }
  return out;
}
