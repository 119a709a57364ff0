/**
 * The end-of-session summary: the model reads what it heard (never a muted coach's words) and answers
 * a summary, key insights, next steps and new facts about the client, as JSON.
 */

import type { AgentContext, SessionRef, SessionSummaryMessage } from '@hybrid-coach/shared/agent-contract';
import { llm } from '@livekit/agents';

/** What the model made of the session (the job adds which session and room it speaks of). */
export type SummaryContent = Omit<SessionSummaryMessage, keyof SessionRef>;

export const SUMMARY_MARKER = 'Transcript of the session to summarise:';

const SUMMARY_INSTRUCTIONS = `You write the record of a voice coaching session for vagus-nerve health and stress.
Answer with one JSON object and nothing else:
{"summary": "<3 to 5 sentences: how the client was, what you did together, how they left>",
 "keyInsights": ["<what was learned about the client's patterns, at most 5>"],
 "nextSteps": ["<concrete practices to try before the next session, at most 5>"],
 "newFacts": ["<lasting facts about the client worth remembering next time, at most 5; none if nothing new>"],
 "challenges": ["<what the client is working through now, in a few words each (poor sleep, deadlines at work), at most 5>"]}
Never give medical advice. If the client spoke of self-harm or crisis, say so plainly in the summary.`;

const list = (v: unknown): string[] =>
  Array.isArray(v)
    ? v
        .filter((x): x is string => typeof x === 'string' && x.trim().length > 0)
        .map((x) => x.trim().slice(0, 500))
        .slice(0, 20)
    : [];

/** Reads the model's answer: the JSON object in it, or (if there is none) the whole text as the summary. */
export function parseSummary(text: string): SummaryContent {
  const start = text.indexOf('{');
  const end = text.lastIndexOf('}');
  if (start >= 0 && end > start) {
    try {
      const o = JSON.parse(text.slice(start, end + 1)) as Record<string, unknown>;
      if (typeof o.summary === 'string' && o.summary.trim()) {
        return {
          summary: o.summary.trim().slice(0, 10_000),
          keyInsights: list(o.keyInsights),
          nextSteps: list(o.nextSteps),
          newFacts: list(o.newFacts),
          challenges: list(o.challenges),
        };
      }
    } catch {
      // Not JSON after all: fall through.
    }
  }
  return { summary: text.trim().slice(0, 10_000), keyInsights: [], nextSteps: [], newFacts: [], challenges: [] };
}

/** Null when nothing was said (nothing to summarise). */
export async function summarise(model: llm.LLM, ctx: AgentContext): Promise<SummaryContent | null> {
  // Whispers steer the AI privately; they are not part of the session's record.
  const said = ctx.history.filter((h) => h.kind === 'speech');
  if (!said.some((h) => h.role !== 'ai')) return null;
  const chatCtx = llm.ChatContext.empty();
  chatCtx.addMessage({ role: 'system', content: SUMMARY_INSTRUCTIONS });
  chatCtx.addMessage({
    role: 'user',
    content: `${SUMMARY_MARKER}\n${said.map((h) => `${h.role === 'ai' ? 'AI coach' : h.role === 'coach' ? `Coach ${h.speakerName}` : `Client ${h.speakerName}`}: ${h.text}`).join('\n')}`,
  });
  const response = await model.chat({ chatCtx }).collect();
  const text = response.text.trim();
  return text ? parseSummary(text) : null;
}
