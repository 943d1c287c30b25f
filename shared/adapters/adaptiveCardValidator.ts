import { createRequire } from "node:module";

/**
 * Checks an expanded Adaptive Card the way a Teams client reads it: parsed by the `adaptivecards` SDK (the renderer
 * Microsoft ships), whose warnings name unknown element types, invalid property values and versions it does not know.
 * The SDK's ES build has extensionless imports that Node's ESM loader refuses, so its UMD bundle is loaded instead
 * (parsing needs no DOM), typed here by the little it is used for (its declarations pull in its TypeScript sources).
 */
interface AdaptiveCardsModule {
  SerializationContext: new () => { eventCount: number; getEventAt(index: number): { message: string } };
  AdaptiveCard: new () => { parse(source: unknown, context?: unknown): void };
}

let sdk: AdaptiveCardsModule | undefined;
function adaptiveCards(): AdaptiveCardsModule {
  sdk ??= createRequire(import.meta.url)("adaptivecards/dist/adaptivecards.js") as AdaptiveCardsModule;
  return sdk;
}

/** Adaptive Card versions Teams renders on every client (desktop, web, iOS, Android). */
const TEAMS_CARD_VERSIONS = new Set(["1.0", "1.1", "1.2", "1.3", "1.4", "1.5"]);

/** Problems with a card (empty when Teams can render it as sent). */
export function adaptiveCardProblems(card: unknown): string[] {
  const problems: string[] = [];
  if (typeof card !== "object" || card === null || Array.isArray(card)) return ["the card is not a JSON object"];
  const record = card as Record<string, unknown>;
  if (record.type !== "AdaptiveCard") problems.push(`type must be "AdaptiveCard", got ${JSON.stringify(record.type)}`);
  if (typeof record.version !== "string" || !TEAMS_CARD_VERSIONS.has(record.version)) problems.push(`version ${JSON.stringify(record.version)} is not one Teams renders everywhere`);
  if (JSON.stringify(card).includes("${")) problems.push("the card still holds unexpanded template expressions (${...})");
  const AC = adaptiveCards();
  const context = new AC.SerializationContext();
  new AC.AdaptiveCard().parse(record, context);
  for (let i = 0; i < context.eventCount; i++) problems.push(context.getEventAt(i).message);
  return problems;
}
