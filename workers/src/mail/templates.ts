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
