import { env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { mailTo } from '../../test/mailpit';
import { mailConfig } from './config';
import { buildMime, HeaderInjectionError } from './mime';
import { SmtpError, withSmtp } from './smtp';

const address = (prefix: string) => `${prefix}-${crypto.randomUUID().slice(0, 8)}@example.com`;
const message = (to: string, overrides: Partial<Parameters<typeof buildMime>[0]> = {}) =>
  buildMime({
    from: { name: 'Hybrid Coach', address: 'no-reply@hybrid.coach' },
    to,
    subject: 'Hello',
    text: 'Plain words',
    html: '<p>Plain words</p>',
    messageId: `${crypto.randomUUID()}@hybrid.coach`,
    date: new Date(),
    ...overrides,
  });

async function sendOne(to: string, data: string, config = mailConfig(env)) {
  await withSmtp(config, (s) => s.send({ from: 'no-reply@hybrid.coach', to }, data), { timeoutMs: 5_000 });
}

describe('the SMTP client, against Mailpit', () => {
  it('keeps lines that start with a dot, non-ASCII names and subjects, and attachments intact', async () => {
    const to = address('mime');
    const text = 'First line\n.a line that starts with a dot\n..and two\nÉlodie says: ça va, 今日は';
    await sendOne(
      to,
      message(to, {
        from: { name: 'Hybrid Coach – Équipe', address: 'no-reply@hybrid.coach' },
        subject: 'Votre séance de demain – rappel',
        text,
        attachments: [
          { filename: 'appointment.ics', contentType: 'text/calendar; method=PUBLISH; charset=UTF-8', content: 'BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n' },
        ],
      }),
    );
    const [mail] = await mailTo(to);
    expect(mail?.Subject).toBe('Votre séance de demain – rappel');
    expect(mail?.From?.Name).toBe('Hybrid Coach – Équipe');
    expect(mail?.Text.replace(/\r\n/g, '\n').trim()).toBe(text);
    expect(mail?.Attachments).toMatchObject([{ FileName: 'appointment.ics', ContentType: 'text/calendar' }]);
  });

  it('refuses a header with a line break (header injection) before connecting', () => {
    expect(() => message('x@example.com', { subject: 'Hi\r\nBcc: victim@example.com' })).toThrow(HeaderInjectionError);
    expect(() => message('x@example.com\r\nBcc: victim@example.com')).toThrow(HeaderInjectionError);
  });

  it('reports a closed port as a connect error that may be retried', async () => {
    const err = await sendOne(address('closed'), message('x@example.com'), { ...mailConfig(env), port: 9 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SmtpError);
    expect(err).toMatchObject({ phase: 'connect', retryable: true, outcomeUnknown: false });
  });

  it('never sends in plain text when STARTTLS is required and the server does not offer it', async () => {
    const to = address('starttls');
    const err = await sendOne(to, message(to), { ...mailConfig(env), tls: 'starttls' }).catch((e: unknown) => e);
    expect(err).toMatchObject({ phase: 'starttls', retryable: false });
  });

  it('refuses a permanent rejection with its code, and a message of its own (no address in it)', async () => {
    const to = address('bounce');
    const err = (await sendOne(to, message(to)).catch((e: unknown) => e)) as SmtpError;
    expect(err).toMatchObject({ phase: 'rcpt', retryable: false, options: { code: 550 } });
    expect(err.summary).not.toContain(to);
  });
  it('keeps the connection for the next message after one recipient is refused', async () => {
    const bounced = address('bounce');
    const next = address('after-bounce');
    const refused = await withSmtp(
      mailConfig(env),
      async (s) => {
        const err = await s.send({ from: 'no-reply@hybrid.coach', to: bounced }, message(bounced)).catch((e: unknown) => e);
        await s.reset();
        await s.send({ from: 'no-reply@hybrid.coach', to: next }, message(next));
        return err;
      },
      { timeoutMs: 5_000 },
    );
    expect(refused).toMatchObject({ phase: 'rcpt', options: { code: 550 } });
    expect(await mailTo(next)).toHaveLength(1);
  });
});
