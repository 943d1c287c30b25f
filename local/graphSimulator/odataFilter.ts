/**
 * A small, strict parser for the OData `$filter` subset Microsoft Graph accepts on the resources blindwindow reads
 * (sign-ins, directory audits, risk detections, service health issues). Anything outside the subset is rejected
 * the way Graph rejects it: 400 BadRequest "Invalid filter clause". Datetimes are unquoted ISO 8601
 * (`createdDateTime ge 2024-09-02T00:00:00Z`), strings single-quoted with `''` as the escape, as in
 * https://learn.microsoft.com/graph/filter-query-parameter.
 */

export type ComparisonOperator = "eq" | "ne" | "gt" | "ge" | "lt" | "le";

export type FilterLiteral =
  | { type: "string"; value: string }
  | { type: "number"; value: number }
  | { type: "datetime"; value: number; text: string }
  | { type: "boolean"; value: boolean }
  | { type: "null" };

export type FilterNode =
  | { kind: "and" | "or"; left: FilterNode; right: FilterNode }
  | { kind: "compare"; path: string; op: ComparisonOperator; literal: FilterLiteral }
  | { kind: "startswith"; path: string; literal: FilterLiteral }
  | { kind: "any"; path: string; variable: string; body: FilterNode };

/** A `$filter` (or `$select`, `$top`) that Graph would refuse with 400. */
export class ODataError extends Error {
  override readonly name = "ODataError";
}

type Token =
  | { t: "ident"; v: string }
  | { t: "string"; v: string }
  | { t: "number"; v: number }
  | { t: "datetime"; v: number; text: string }
  | { t: "("; v: "(" }
  | { t: ")"; v: ")" }
  | { t: ","; v: "," }
  | { t: ":"; v: ":" };

const DATETIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,7})?)?(?:Z|[+-]\d{2}:\d{2})/;
const NUMBER = /^-?\d+(?:\.\d+)?(?![\w.:-])/;
const IDENT = /^[A-Za-z_][A-Za-z0-9_]*(?:\/[A-Za-z_][A-Za-z0-9_]*)*/;

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const ch = text.charAt(i);
    if (ch === " " || ch === "\t") {
      i++;
      continue;
    }
    if (ch === "(" || ch === ")" || ch === "," || ch === ":") {
      tokens.push({ t: ch, v: ch } as Token);
      i++;
      continue;
    }
    if (ch === "'") {
      let value = "";
      let j = i + 1;
      for (;;) {
        if (j >= text.length) throw new ODataError("Invalid filter clause: unterminated string literal.");
        const c = text.charAt(j);
        if (c === "'") {
          if (text.charAt(j + 1) === "'") {
            value += "'";
            j += 2;
            continue;
          }
          break;
        }
        value += c;
        j++;
      }
      tokens.push({ t: "string", v: value });
      i = j + 1;
      continue;
    }
    const rest = text.slice(i);
    const dt = DATETIME.exec(rest);
    if (dt) {
      const ms = Date.parse(dt[0]);
      if (Number.isNaN(ms)) throw new ODataError(`Invalid filter clause: '${dt[0]}' is not a valid DateTimeOffset.`);
      tokens.push({ t: "datetime", v: ms, text: dt[0] });
      i += dt[0].length;
      continue;
    }
    const num = NUMBER.exec(rest);
    if (num) {
      tokens.push({ t: "number", v: Number(num[0]) });
      i += num[0].length;
      continue;
    }
    const id = IDENT.exec(rest);
    if (id) {
      tokens.push({ t: "ident", v: id[0] });
      i += id[0].length;
      continue;
    }
    throw new ODataError(`Invalid filter clause: syntax error at position ${i} in '${text}'.`);
  }
  return tokens;
}

const OPERATORS = new Set<string>(["eq", "ne", "gt", "ge", "lt", "le"]);

class Parser {
  private pos = 0;
  constructor(private readonly tokens: Token[], private readonly text: string) {}

  parse(): FilterNode {
    const node = this.parseOr();
    if (this.pos < this.tokens.length) this.fail();
    return node;
  }

  private fail(): never {
    throw new ODataError(`Invalid filter clause: syntax error at token ${this.pos + 1} in '${this.text}'.`);
  }

  private peek(): Token | undefined {
    return this.tokens[this.pos];
  }

  private take(): Token {
    const token = this.tokens[this.pos];
    if (!token) this.fail();
    this.pos++;
    return token;
  }

  private expect<T extends Token["t"]>(type: T): Extract<Token, { t: T }> {
    const token = this.take();
    if (token.t !== type) this.fail();
    return token as Extract<Token, { t: T }>;
  }

  private isKeyword(word: string): boolean {
    const token = this.peek();
    return token?.t === "ident" && token.v === word;
  }

  private parseOr(): FilterNode {
    let left = this.parseAnd();
    while (this.isKeyword("or")) {
      this.pos++;
      left = { kind: "or", left, right: this.parseAnd() };
    }
    return left;
  }

  private parseAnd(): FilterNode {
    let left = this.parsePrimary();
    while (this.isKeyword("and")) {
      this.pos++;
      left = { kind: "and", left, right: this.parsePrimary() };
    }
    return left;
  }

  private parsePrimary(): FilterNode {
    const token = this.take();
    if (token.t === "(") {
      const inner = this.parseOr();
      this.expect(")");
      return inner;
    }
    if (token.t !== "ident") this.fail();
    if (token.v === "startswith") {
      this.expect("(");
      const path = this.expect("ident").v;
      this.expect(",");
      const literal = this.parseLiteral();
      this.expect(")");
      return { kind: "startswith", path, literal };
    }
    if (token.v.endsWith("/any") && this.peek()?.t === "(") {
      this.pos++;
      const variable = this.expect("ident").v;
      if (variable.includes("/")) this.fail();
      this.expect(":");
      const body = this.parseOr();
      this.expect(")");
      return { kind: "any", path: token.v.slice(0, -"/any".length), variable, body };
    }
    const opToken = this.take();
    if (opToken.t !== "ident" || !OPERATORS.has(opToken.v)) this.fail();
    return { kind: "compare", path: token.v, op: opToken.v as ComparisonOperator, literal: this.parseLiteral() };
  }

  private parseLiteral(): FilterLiteral {
    const token = this.take();
    switch (token.t) {
      case "string":
        return { type: "string", value: token.v };
      case "number":
        return { type: "number", value: token.v };
      case "datetime":
        return { type: "datetime", value: token.v, text: token.text };
      case "ident":
        if (token.v === "true" || token.v === "false") return { type: "boolean", value: token.v === "true" };
        if (token.v === "null") return { type: "null" };
        return this.fail();
      default:
        return this.fail();
    }
  }
}

/** Parses a `$filter` expression into a tree; throws ODataError on anything outside the supported grammar. */
export function parseFilter(text: string): FilterNode {
  if (text.trim() === "") throw new ODataError("Invalid filter clause: the expression is empty.");
  return new Parser(tokenize(text), text).parse();
}

/** How one filterable property of a resource behaves. */
export type FilterProperty<R> =
  | { type: "datetime"; get: (record: R) => string | null | undefined }
  | { type: "string"; get: (record: R) => string | null | undefined; startswith?: boolean }
  | { type: "number"; get: (record: R) => number | null | undefined }
  | { type: "boolean"; get: (record: R) => boolean | null | undefined }
  | { type: "stringCollection"; get: (record: R) => readonly string[] | undefined; values?: readonly string[] };

/** The filterable properties of one resource, keyed by OData path (`status/errorCode`). */
export interface FilterSchema<R> {
  /** Graph type name used in error messages, e.g. `microsoft.graph.signIn`. */
  typeName: string;
  /** The datetime property pages are ordered and bucketed by. */
  timeProperty: string;
  properties: Readonly<Record<string, FilterProperty<R>>>;
}

export interface CompiledFilter<R> {
  matches(record: R): boolean;
  /** Inclusive bounds (epoch ms) on the schema's time property, from top-level `and` comparisons. */
  lowerMs: number | undefined;
  upperMs: number | undefined;
  /** Paths the filter mentions (for defaults such as beta's interactive-only sign-ins). */
  mentions: ReadonlySet<string>;
}

function compare(a: number | string, b: number | string, op: ComparisonOperator): boolean {
  switch (op) {
    case "eq":
      return a === b;
    case "ne":
      return a !== b;
    case "gt":
      return a > b;
    case "ge":
      return a >= b;
    case "lt":
      return a < b;
    case "le":
      return a <= b;
  }
}

function lowerCaseString(value: string | null | undefined): string | null {
  return value === undefined || value === null ? null : value.toLowerCase();
}

/** Validates the tree against a resource schema and turns it into a predicate plus time bounds. */
export function compileFilter<R>(node: FilterNode, schema: FilterSchema<R>): CompiledFilter<R> {
  const mentions = new Set<string>();
  function unknown(path: string): never {
    throw new ODataError(`Invalid filter clause: Could not find a property named '${path}' on type '${schema.typeName}'.`);
  }
  function unsupported(detail: string): never {
    throw new ODataError(`Invalid filter clause: ${detail}`);
  }

  const build = (n: FilterNode): ((record: R) => boolean) => {
    switch (n.kind) {
      case "and": {
        const l = build(n.left);
        const r = build(n.right);
        return (rec) => l(rec) && r(rec);
      }
      case "or": {
        const l = build(n.left);
        const r = build(n.right);
        return (rec) => l(rec) || r(rec);
      }
      case "startswith": {
        const prop = schema.properties[n.path] ?? unknown(n.path);
        mentions.add(n.path);
        if (prop.type !== "string" || !prop.startswith) unsupported(`startswith is not supported on '${n.path}'.`);
        if (n.literal.type !== "string") unsupported(`startswith needs a string literal.`);
        const get = prop.get;
        const prefix = n.literal.value.toLowerCase();
        return (rec) => lowerCaseString(get(rec))?.startsWith(prefix) ?? false;
      }
      case "any": {
        const prop = schema.properties[n.path] ?? unknown(n.path);
        mentions.add(n.path);
        if (prop.type !== "stringCollection") unsupported(`'${n.path}' is not a collection.`);
        const values = lambdaValues(n.body, n.variable, unsupported);
        if (prop.values) {
          for (const v of values) {
            if (!prop.values.includes(v)) unsupported(`'${v}' is not a valid value for '${n.path}'.`);
          }
        }
        const get = prop.get;
        return (rec) => (get(rec) ?? []).some((v) => values.has(v));
      }
      case "compare": {
        const prop = schema.properties[n.path] ?? unknown(n.path);
        mentions.add(n.path);
        const { op, literal } = n;
        switch (prop.type) {
          case "datetime": {
            if (literal.type !== "datetime") unsupported(`'${n.path}' must be compared with an unquoted DateTimeOffset.`);
            const value = literal.value;
            const get = prop.get;
            return (rec) => {
              const text = get(rec);
              return text ? compare(Date.parse(text), value, op) : false;
            };
          }
          case "string": {
            if (op !== "eq" && op !== "ne") unsupported(`operator '${op}' is not supported on '${n.path}'.`);
            if (literal.type === "null") {
              const get = prop.get;
              return (rec) => (get(rec) === null || get(rec) === undefined) === (op === "eq");
            }
            if (literal.type !== "string") unsupported(`'${n.path}' must be compared with a quoted string.`);
            // Graph compares these properties case-insensitively.
            const value = literal.value.toLowerCase();
            const get = prop.get;
            return (rec) => compare(lowerCaseString(get(rec)) ?? "", value, op);
          }
          case "number": {
            if (literal.type !== "number") unsupported(`'${n.path}' must be compared with a number.`);
            const value = literal.value;
            const get = prop.get;
            return (rec) => {
              const v = get(rec);
              return typeof v === "number" && compare(v, value, op);
            };
          }
          case "boolean": {
            if (op !== "eq" && op !== "ne") unsupported(`operator '${op}' is not supported on '${n.path}'.`);
            if (literal.type !== "boolean") unsupported(`'${n.path}' must be compared with true or false.`);
            const value = literal.value;
            const get = prop.get;
            return (rec) => (get(rec) === value) === (op === "eq");
          }
          case "stringCollection":
            return unsupported(`'${n.path}' is a collection: use ${n.path}/any(…).`);
        }
      }
    }
  };

  const matches = build(node);
  let lowerMs: number | undefined;
  let upperMs: number | undefined;
  const visitConjuncts = (n: FilterNode): void => {
    if (n.kind === "and") {
      visitConjuncts(n.left);
      visitConjuncts(n.right);
      return;
    }
    if (n.kind !== "compare" || n.path !== schema.timeProperty || n.literal.type !== "datetime") return;
    const v = n.literal.value;
    const raiseLower = (x: number) => (lowerMs = lowerMs === undefined ? x : Math.max(lowerMs, x));
    const dropUpper = (x: number) => (upperMs = upperMs === undefined ? x : Math.min(upperMs, x));
    if (n.op === "ge" || n.op === "eq") raiseLower(v);
    if (n.op === "gt") raiseLower(v + 1);
    if (n.op === "le" || n.op === "eq") dropUpper(v);
    if (n.op === "lt") dropUpper(v - 1);
  };
  visitConjuncts(node);
  return { matches, lowerMs, upperMs, mentions };
}

/** The body of `path/any(t: t eq 'a' or t eq 'b')`: only `eq` on the lambda variable, joined by `or`. */
function lambdaValues(body: FilterNode, variable: string, unsupported: (detail: string) => never): Set<string> {
  const values = new Set<string>();
  const visit = (n: FilterNode): void => {
    if (n.kind === "or") {
      visit(n.left);
      visit(n.right);
      return;
    }
    if (n.kind !== "compare" || n.path !== variable || n.op !== "eq" || n.literal.type !== "string") {
      unsupported(`only '${variable} eq '…'' joined by 'or' is supported inside any().`);
    }
    values.add(n.literal.value);
  };
  visit(body);
  return values;
}
