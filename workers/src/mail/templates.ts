/**
 * What each email says: a subject, a plain-text part and a simple HTML part with the same words, the
 * product's name, and a footer saying why the person gets it. Links stand on a line of their own in the
 * text part. Every value put into the HTML is escaped. Subjects carry no personal data (they sit in
 * the outbox row unsealed).
 */
import type { MailAttachment } from './mime';

export const PRODUCT_NAME = 'Hybrid Coach';

export interface MailContent {
  subject: string;
  text: string;
  html: string;
  attachments?: MailAttachment[];
}

const escapeHtml = (value: string) =>
  value.replace(/[&<>"']/g, (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[ch] as string);

interface Layout {
  subject: string;
  greeting: string;
  /** Paragraphs of plain text. */
  body: string[];
  action?: { label: string; url: string };
  /** After the action: e.g. how long the link works. */
  after?: string[];
  /** Why the person gets this email. */
  footer: string;
  attachments?: MailAttachment[];
}

export function layout(m: Layout): MailContent {
  const paragraphs = (items: string[] | undefined) => items ?? [];
  const text = [
    PRODUCT_NAME,
    '',
    m.greeting,
    '',
    ...paragraphs(m.body).flatMap((p) => [p, '']),
    ...(m.action ? [`${m.action.label}:`, m.action.url, ''] : []),
    ...paragraphs(m.after).flatMap((p) => [p, '']),
    '--',
    m.footer,
    '',
  ].join('\n');
  const p = (t: string) => `<p style="margin:0 0 16px">${escapeHtml(t)}</p>`;
  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(`${PRODUCT_NAME}: ${m.subject}`)}</title></head>
<body style="margin:0;padding:24px;background:#f6f7f9;font-family:system-ui,-apple-system,Segoe UI,sans-serif;color:#1d2433;line-height:1.5">
<div style="max-width:560px;margin:0 auto;background:#fff;border-radius:8px;padding:24px">
<p style="margin:0 0 24px;font-weight:600;color:#3b5bdb">${PRODUCT_NAME}</p>
${p(m.greeting)}
${paragraphs(m.body).map(p).join('\n')}
${m.action ? `<p style="margin:0 0 16px"><a href="${escapeHtml(m.action.url)}" style="display:inline-block;background:#3b5bdb;color:#fff;padding:10px 18px;border-radius:6px;text-decoration:none">${escapeHtml(m.action.label)}</a></p>\n<p style="margin:0 0 16px;font-size:13px;color:#5c6370">Or open this address: ${escapeHtml(m.action.url)}</p>` : ''}
${paragraphs(m.after).map(p).join('\n')}
<hr style="border:none;border-top:1px solid #e3e6ea;margin:24px 0 12px">
<p style="margin:0;font-size:13px;color:#5c6370">${escapeHtml(m.footer)}</p>
</div></body></html>
`;
  return { subject: m.subject, text, html, ...(m.attachments ? { attachments: m.attachments } : {}) };
}

/** The link to set the password of an account the Skool sync made (or one that was never claimed). */
export function claimAccountMail(m: { name: string; link: string; validDays: number; reason: 'sync' | 'request' }): MailContent {
  return layout({
    subject: `Set your ${PRODUCT_NAME} password`,
    greeting: `Hello ${m.name},`,
    body: [
      m.reason === 'sync'
        ? `Your Skool membership gives you a ${PRODUCT_NAME} account. Choose a password to sign in for the first time.`
        : `Choose a password to sign in to ${PRODUCT_NAME} for the first time.`,
    ],
    action: { label: 'Set your password', url: m.link },
    after: [`The link works once, for ${m.validDays} days.`],
    footer:
      m.reason === 'sync'
        ? `You get this email because you are a member of our Skool community, which comes with a ${PRODUCT_NAME} account.`
        : `You get this email because someone asked for a sign-in link for this address on ${PRODUCT_NAME}. If it was not you, ignore it.`,
  });
}

export function passwordResetMail(m: { name: string; link: string; validMinutes: number }): MailContent {
  return layout({
    subject: `Reset your ${PRODUCT_NAME} password`,
    greeting: `Hello ${m.name},`,
    body: ['Someone asked to reset the password of your account. Choose a new one here:'],
    action: { label: 'Choose a new password', url: m.link },
    after: [`The link works once, for ${m.validMinutes} minutes. Resetting signs you out on every device.`],
    footer: `You get this email because someone asked to reset the password of your ${PRODUCT_NAME} account. If it was not you, ignore it: your password stays the same.`,
  });
}

export function passwordChangedMail(m: { name: string; signInUrl: string; how: 'changed' | 'reset' }): MailContent {
  return layout({
    subject: `Your ${PRODUCT_NAME} password was changed`,
    greeting: `Hello ${m.name},`,
    body: [
      m.how === 'reset'
        ? 'Your password was reset with a link sent to this address, and every device was signed out.'
        : 'Your password was changed in your settings, and your other devices were signed out.',
      'If this was not you, reset your password now from the sign-in page (Forgot your password?):',
    ],
    action: { label: 'Go to the sign-in page', url: m.signInUrl },
    footer: `You get this email because the password of your ${PRODUCT_NAME} account changed. We always send it, for your security.`,
  });
}

/**
 * An appointment's time, spelled out in the reader's IANA zone and naming it ("Monday 15 March 2027,
 * 09:00 America/New_York"); UTC for a reader with no zone. The .ics puts it in their calendar's zone too.
 */
export function whenText(start: Date, timeZone = 'UTC'): string {
  const day = start.toLocaleDateString('en-GB', { weekday: 'long', day: 'numeric', month: 'long', year: 'numeric', timeZone });
  const time = start.toLocaleTimeString('en-GB', { hour: '2-digit', minute: '2-digit', timeZone });
  return `${day}, ${time} ${timeZone}`;
}

export type AppointmentMailKind = 'booked' | 'cancelled' | 'reassigned' | 'rescheduled' | 'reminder-24h' | 'reminder-1h';

export interface AppointmentMail {
  kind: AppointmentMailKind;
  /** The person it goes to, and the other side of the appointment. */
  name: string;
  withName: string;
  role: 'client' | 'coach';
  start: Date;
  /** The reader's IANA zone the time is written in (UTC when they have none). */
  timeZone?: string;
  /** For a reschedule: the time it was at. */
  previousStart?: Date;
  durationMinutes: number;
  portalUrl: string;
  settingsUrl: string;
  /** For a reassignment: the coach it was with. */
  previousCoachName?: string;
  /** For a reassignment seen by the coach it went away from. */
  handedAway?: boolean;
  attachments?: MailContent['attachments'];
}

const SUBJECTS: Record<AppointmentMailKind, string> = {
  booked: 'Your Hybrid Coach session is booked',
  cancelled: 'Your Hybrid Coach session was cancelled',
  reassigned: 'Your Hybrid Coach session has a new coach',
  rescheduled: 'Your Hybrid Coach session was moved',
  'reminder-24h': 'Reminder: your Hybrid Coach session is tomorrow',
  'reminder-1h': 'Reminder: your Hybrid Coach session starts in an hour',
};

export function appointmentMail(m: AppointmentMail): MailContent {
  const when = whenText(m.start, m.timeZone);
  const what = `a ${m.durationMinutes}-minute session`;
  const body: Record<AppointmentMailKind, string[]> = {
    booked: [`${what} with ${m.withName} is booked for ${when}.`, 'The calendar file attached adds it to your calendar.'],
    cancelled: [`The session with ${m.withName} on ${when} was cancelled.`, 'The calendar file attached removes it from your calendar.'],
    reassigned: m.handedAway
      ? [`The session with ${m.withName} on ${when} was handed to another coach. It is no longer in your schedule.`]
      : m.role === 'client'
        ? [`Your session on ${when} will be with ${m.withName} instead of ${m.previousCoachName ?? 'your coach'}.`]
        : [`${m.previousCoachName ?? 'A coach'} handed you the session with ${m.withName} on ${when}.`],
    rescheduled: [
      `The session with ${m.withName}${m.previousStart ? ` on ${whenText(m.previousStart, m.timeZone)}` : ''} was moved to ${when}.`,
      'The calendar file attached updates it in your calendar.',
    ],
    'reminder-24h': [`Your session with ${m.withName} is tomorrow: ${when}.`],
    'reminder-1h': [`Your session with ${m.withName} starts in an hour: ${when}.`],
  };
  const reminder = m.kind.startsWith('reminder');
  return layout({
    subject: m.kind === 'reassigned' && m.handedAway ? 'A Hybrid Coach session was handed to another coach' : SUBJECTS[m.kind],
    greeting: `Hello ${m.name},`,
    body: body[m.kind],
    action: { label: m.role === 'client' ? 'Open your dashboard' : 'Open your schedule', url: m.portalUrl },
    footer: reminder
      ? `You get this reminder because you have a session booked on ${PRODUCT_NAME}. Turn reminders off in Settings: ${m.settingsUrl}`
      : `You get this email because ${m.role === 'client' ? 'you booked' : 'you coach'} this session on ${PRODUCT_NAME}.`,
    ...(m.attachments ? { attachments: m.attachments } : {}),
  });
}

/** To a coach on duty: a session was flagged. No transcript, no quote, no client name: the link shows it to staff only. */
export function sessionFlaggedMail(m: { name: string; link: string }): MailContent {
  return layout({
    subject: "A session needs a coach's follow-up",
    greeting: `Hello ${m.name},`,
    body: ['A coaching session was flagged for talk of crisis or self-harm. Please look at it and follow up with the client.'],
    action: { label: 'Open the session', url: m.link },
    after: ['The details are in the coach portal only, never in email.'],
    footer: `You get this email because you are on duty as a coach on ${PRODUCT_NAME} (taking bookings), or an admin when no coach is.`,
  });
}

export function skoolSyncFailedMail(m: { name: string; runId: string; reason: string; link: string }): MailContent {
  return layout({
    subject: 'The Skool membership sync failed',
    greeting: `Hello ${m.name},`,
    body: [
      `Sync run ${m.runId} did not complete.`,
      `Reason: ${m.reason}`,
      'No membership was downgraded by it. Look at the run, fix the cause, and run it again.',
    ],
    action: { label: 'Open the admin page', url: m.link },
    footer: `You get this email because you are an admin of ${PRODUCT_NAME}.`,
  });
}
