import { env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { MailConfigError, mailConfig } from './config';

const production = {
  ...env,
  ENVIRONMENT: 'production',
  SMTP_HOST: 'smtp.provider.example',
  SMTP_PORT: '465',
  SMTP_TLS: 'on',
  SMTP_USERNAME: 'apikey',
  SMTP_PASSWORD: 's3cret-value',
};

describe('mail settings', () => {
  it('reads a complete production setting', () => {
    expect(mailConfig(production)).toMatchObject({
      host: 'smtp.provider.example',
      port: 465,
      tls: 'on',
      credentials: { username: 'apikey', password: 's3cret-value' },
      from: { name: 'Hybrid Coach', address: 'no-reply@hybrid.coach' },
      domain: 'hybrid.coach',
    });
  });

  it.each([
    [{ SMTP_PASSWORD: '' }, /SMTP_PASSWORD is missing/],
    [{ SMTP_USERNAME: '' }, /SMTP_USERNAME is missing/],
    [{ SMTP_USERNAME: '', SMTP_PASSWORD: '' }, /required in production/],
    [{ SMTP_TLS: 'off' }, /development only/],
    [{ SMTP_TLS: 'maybe' }, /SMTP_TLS must be on, starttls or off/],
    [{ SMTP_PORT: '25' }, /port 25 is not allowed/i],
    [{ SMTP_PORT: 'smtp' }, /SMTP_PORT must be a port number/],
    [{ SMTP_HOST: '' }, /SMTP_HOST is not set/],
    [{ SMTP_HOST: 'smtp.fill-in.invalid' }, /FILL-IN placeholder/],
    [{ SMTP_HOST: '127.0.0.1' }, /this machine/],
    [{ MAIL_FROM: 'Hybrid Coach' }, /MAIL_FROM must be an address/],
  ])('refuses a half-configured sender: %o', (change, message) => {
    expect(() => mailConfig({ ...production, ...change })).toThrow(MailConfigError);
    expect(() => mailConfig({ ...production, ...change })).toThrow(message);
  });

  it('never puts the password in its messages', () => {
    try {
      mailConfig({ ...production, SMTP_USERNAME: '' });
    } catch (err) {
      expect(String(err)).not.toContain('s3cret-value');
    }
    expect.assertions(1);
  });

  it('allows plain text and no account in development only (Mailpit)', () => {
    expect(mailConfig({ ...env, SMTP_USERNAME: '', SMTP_PASSWORD: '' })).toMatchObject({ tls: 'off', host: '127.0.0.1' });
    expect(mailConfig({ ...env, SMTP_USERNAME: '', SMTP_PASSWORD: '' }).credentials).toBeUndefined();
  });
});
