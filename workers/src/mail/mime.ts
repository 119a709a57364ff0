/**
 * One email as RFC 5322 text with MIME (RFC 2045-2047): multipart/mixed holding multipart/alternative
 * (text/plain and text/html, UTF-8, base64) and any attachments (e.g. an .ics). Header values are
 * refused when they hold CR or LF (header injection); non-ASCII names and subjects are encoded words.
 */

export interface MailAttachment {
  filename: string;
  /** The full Content-Type, e.g. `text/calendar; method=PUBLISH; charset=UTF-8`. */
  contentType: string;
  /** The attachment's text (UTF-8). */
  content: string;
}

export interface MimeMessage {
  from: { name: string; address: string };
  to: string;
  subject: string;
  text: string;
  html: string;
  attachments?: MailAttachment[];
  /** Without angle brackets: `<id>@<domain>`. */
  messageId: string;
  date: Date;
}

export class HeaderInjectionError extends Error {
  override name = 'HeaderInjectionError';
}

const encoder = new TextEncoder();

function base64(bytes: Uint8Array): string {
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
}

/** Base64 in lines of 76 characters (RFC 2045 §6.8). */
function base64Lines(text: string): string {
  return base64(encoder.encode(text)).replace(/.{76}/g, '$&\r\n');
}

function safe(name: string, value: string): string {
  if (/[\r\n]/.test(value)) throw new HeaderInjectionError(`the ${name} header has a line break`);
  return value;
}

/** RFC 2047 B-encoded words of at most ~45 bytes of UTF-8 each, never splitting a character. */
function encodedWords(value: string): string {
  const words: string[] = [];
  let chunk = '';
  for (const ch of value) {
    if (encoder.encode(chunk + ch).length > 45) {
      words.push(chunk);
      chunk = '';
    }
    chunk += ch;
  }
  if (chunk) words.push(chunk);
  return words.map((w) => `=?UTF-8?B?${base64(encoder.encode(w))}?=`).join('\r\n ');
}

const isPlainAscii = (value: string) => /^[\x20-\x7e]*$/.test(value);

/** A header value as is when it is printable ASCII, else as encoded words. */
export function headerText(value: string): string {
  return isPlainAscii(value) ? value : encodedWords(value);
}

function mailbox(name: string, address: string): string {
  if (!name) return address;
  const display = isPlainAscii(name) ? `"${name.replace(/["\\]/g, '\\$&')}"` : encodedWords(name);
  return `${display} <${address}>`;
}

const boundary = () => `=_hc_${crypto.randomUUID().replaceAll('-', '')}`;

export function buildMime(m: MimeMessage): string {
  safe('From', m.from.name);
  safe('From', m.from.address);
  safe('To', m.to);
  safe('Subject', m.subject);
  safe('Message-ID', m.messageId);
  const mixed = boundary();
  const alternative = boundary();
  const part = (type: string, body: string, extra: string[] = []) =>
    [`Content-Type: ${type}`, 'Content-Transfer-Encoding: base64', ...extra, '', base64Lines(body)].join('\r\n');
  const lines = [
    `Date: ${m.date.toUTCString().replace('GMT', '+0000')}`,
    `From: ${mailbox(m.from.name, m.from.address)}`,
    `To: ${m.to}`,
    `Subject: ${headerText(m.subject)}`,
    `Message-ID: <${m.messageId}>`,
    'MIME-Version: 1.0',
    // Machine-made (RFC 3834): auto-responders do not answer it.
    'Auto-Submitted: auto-generated',
    `Content-Type: multipart/mixed; boundary="${mixed}"`,
    '',
    `--${mixed}`,
    `Content-Type: multipart/alternative; boundary="${alternative}"`,
    '',
    `--${alternative}`,
    part('text/plain; charset=UTF-8', m.text),
    `--${alternative}`,
    part('text/html; charset=UTF-8', m.html),
    `--${alternative}--`,
  ];
  for (const a of m.attachments ?? []) {
    safe('Content-Type', a.contentType);
    if (!/^[\w.-]+$/.test(a.filename)) throw new HeaderInjectionError('an attachment name must be letters, digits, dots and dashes');
    lines.push(`--${mixed}`, part(a.contentType, a.content, [`Content-Disposition: attachment; filename="${a.filename}"`]));
  }
  lines.push(`--${mixed}--`, '');
  return lines.join('\r\n');
}
