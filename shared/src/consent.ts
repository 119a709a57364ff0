/**
 * What a client agrees to before their first session: the one text the Worker serves, the client portal
 * asks for and the public privacy page shows. A change to what it says is a new CONSENT_VERSION: every
 * client is then asked again before their next session (the Worker refuses one with CONSENT_REQUIRED).
 */

/** The version of CONSENT_TEXT. Raise it whenever a word of the text changes. */
export const CONSENT_VERSION = 1;

/**
 * Months transcripts are kept. The Worker's RETENTION_MONTHS (wrangler.toml) must say the same: a Worker
 * test holds every environment's value to this one.
 */
export const CONSENT_RETENTION_MONTHS = 12;

export const CONSENT_TITLE = 'What we record when you talk with your coach';

/** The facts, one short plain sentence each, in the order the portal and the privacy page show them. */
export const CONSENT_POINTS: readonly string[] = [
  'Your voice is transcribed while you talk with the AI coach (and a human coach, if one joins).',
  'We store the transcript of each session and a short summary of it with your account.',
  'Your coach may read your transcripts and summaries to help you; staff read them only to keep you safe or fix a problem.',
  `Transcripts are deleted ${CONSENT_RETENTION_MONTHS} months after the session; summaries stay with your account until you delete it.`,
  'Without your agreement no session can start. You can stop at any time by not starting another session.',
];

/** The whole text as the consent record refers to it: title and points, one per line. */
export const CONSENT_TEXT = [CONSENT_TITLE, ...CONSENT_POINTS.map((p) => `- ${p}`)].join('\n');
