import { createRequire } from "node:module";
import template from "./cards/task-card.v1.json" with { type: "json" };
import { formatUtc, type TaskContent, type TaskStatus } from "./task.js";

/**
 * The Teams card of a task: a versioned Adaptive Card template (cards/task-card.v1.json, editable in the Adaptive
 * Cards Designer) expanded with `adaptivecards-templating`. Single column (TextBlocks and a FactSet, no ColumnSets)
 * so it reads on a phone; Adaptive Cards 1.4, which Teams renders on desktop, web and mobile.
 */
export const TASK_CARD_TEMPLATE = { name: "task-card", version: 1, cardVersion: template.version } as const;

/**
 * The part of `adaptivecards-templating` used here. Loaded with require: its type declarations import the
 * `adaptivecards` TypeScript sources, which do not compile under this project's settings.
 */
interface TemplateEngine {
  expand(context: { $root: unknown }): unknown;
}
interface Templating {
  Template: new (payload: unknown) => TemplateEngine;
}
let templating: Templating | undefined;
function templatingModule(): Templating {
  templating ??= createRequire(import.meta.url)("adaptivecards-templating") as Templating;
  return templating;
}

/** Teams' limit for a card posted through a Workflows webhook is 28 KB; stay well inside it. */
export const MAX_CARD_BYTES = 24 * 1024;

/**
 * Card text is markdown in Teams: a notice title or an app display name (attacker-controlled: apps name themselves)
 * must not become a link or formatting. The characters that make links, emphasis or code are backslash-escaped, a
 * leading list or heading marker too, `://` is defanged (no autolink), `${` is broken up, and line breaks are flattened.
 */
export function escapeCardText(text: string): string {
  return text
    .replace(/\s+/gu, " ")
    .trim()
    .replace(/[\\`*_[\]<>]/gu, "\\$&")
    .replace(/^([#+-])/u, "\\$1")
    .replace(/^(\d+)\./u, "$1\\.")
    .replace(/:\/\//gu, ":\u200b//")
    // `${` in data is text, but would look like a template expression left unexpanded (the card check refuses those).
    .replace(/\$\{/gu, "$\u200b{");
}

export interface TaskCardInput {
  id: string;
  status: TaskStatus;
  content: TaskContent;
}

export interface TaskCardData {
  headline: string;
  headlineColor: "Attention" | "Warning" | "Good";
  title: string;
  summary: string;
  facts: { name: string; value: string }[];
  sections: { heading: string; lines: string[] }[];
  checklist: { title: string }[];
  howToAcknowledge: string;
  footer: string;
}

/** The template's data for a task: every string escaped, hunt KQL left out (it is in the e-mail and Planner notes). */
export function taskCardData(task: TaskCardInput): TaskCardData {
  const c = task.content;
  const w = c.window;
  const e = escapeCardText;
  const headline = c.note
    ? "Blind window update"
    : c.kind === "watchdog"
      ? "blindwindow is blind itself"
      : c.controlsFinished
        ? "Blind window: reviews finished"
        : "Blind window: action needed";
  return {
    headline: e(headline),
    headlineColor: c.kind === "watchdog" || w.effect === "loss" ? "Attention" : c.controlsFinished && c.findings.total === 0 ? "Good" : "Warning",
    title: e(c.title),
    summary: e(c.summary),
    facts: [
      { name: "Tenant", value: e(c.tenantName) },
      { name: c.kind === "watchdog" ? "Component" : "Source", value: e(w.sourceName) },
      { name: "From", value: e(formatUtc(w.start)) },
      { name: "To", value: e(w.end ? formatUtc(w.end) : "ongoing") },
      { name: "Effect", value: e(w.effect) },
      { name: "Review by", value: e(formatUtc(w.reviewDeadline)) },
      { name: "Status", value: e(task.status) },
    ],
    sections: c.sections.map((s) => ({ heading: e(s.heading), lines: s.lines.map(e) })),
    checklist: c.checklist.map((i) => ({ title: e(i.title) })),
    howToAcknowledge: e(`Acknowledge: blindwindow tasks ack ${task.id} --by <you> (or POST /api/tasks/${task.id}/ack).`),
    footer: e(`blindwindow ${TASK_CARD_TEMPLATE.name} v${String(TASK_CARD_TEMPLATE.version)} · task ${task.id}`),
  };
}

/** The expanded Adaptive Card (JSON object) for a task. */
export function renderTaskCard(task: TaskCardInput): Record<string, unknown> {
  const engine = new (templatingModule().Template)(template);
  const card: unknown = engine.expand({ $root: taskCardData(task) });
  if (typeof card !== "object" || card === null || Array.isArray(card)) throw new Error("task card template expanded to no object");
  return card as Record<string, unknown>;
}

/** The body a Teams Workflows webhook ("When a Teams webhook request is received") takes: a message with one card. */
export function workflowMessage(card: Record<string, unknown>): Record<string, unknown> {
  return { type: "message", attachments: [{ contentType: "application/vnd.microsoft.card.adaptive", contentUrl: null, content: card }] };
}
