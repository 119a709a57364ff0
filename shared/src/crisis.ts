/**
 * Talk of self-harm or crisis in what a client says. Used twice: the agent reminds the model of its
 * safety guidance before it answers such a turn, and the Worker flags the session for a coach when
 * such a line is stored. Deliberately broad: a flag a coach dismisses costs little, a missed one a lot.
 */
const PATTERNS: readonly RegExp[] = [
  /\bsuicid(e|al)\b/i,
  /\bkill(ing)? my ?self\b/i,
  /\bend(ing)? (it all|my (own )?life)\b/i,
  /\b(hurt|harm|cut|cutting|hurting|harming) (my ?self|myself)\b/i,
  /\bself[- ]?harm/i,
  /\b(want|wanted|going) to die\b/i,
  /\bbetter off dead\b/i,
  /\bno (reason|point) (to|in) (live|living|going on)\b/i,
  /\bdo(n'?t| not) want to (be here|live|wake up)( anymore)?\b/i,
  /\boverdose\b/i,
  /\b(hurt|harm|kill) (someone|somebody|him|her|them|others)\b/i,
];

/** The words that raised the concern, or null when the line shows none. */
export function crisisMatch(text: string): string | null {
  for (const p of PATTERNS) {
    const m = p.exec(text);
    if (m) return m[0];
  }
  return null;
}
