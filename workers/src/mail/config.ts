/**
 * The mail settings, read from the Worker's vars and secrets and checked together: a half-configured
 * sender (a user without a password, TLS off in production, the FILL-IN host) is refused with a message
 * that names the setting, rather than sending in plain text or failing message by message.
 */

export type SmtpTls = 'on' | 'starttls' | 'off';

export interface MailConfig {
  host: string;
  port: number;
  tls: SmtpTls;
  /** Absent only in development (Mailpit accepts anything). */
  credentials?: { username: string; password: string };
  from: { name: string; address: string };
  /** The From address's domain: the EHLO name and the Message-ID's right-hand side. */
  domain: string;
  retryBaseMs: number;
}

/** Mail cannot be sent with the settings as they are; the message says which one and where to set it. */
export class MailConfigError extends Error {
  override name = 'MailConfigError';
}

const ADDRESS = /^[^\s@<>"]+@([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)$/;
const TLS_MODES: readonly SmtpTls[] = ['on', 'starttls', 'off'];

/** `Name <address>` or a bare address. */
function parseFrom(value: string): MailConfig['from'] {
  const named = /^\s*(.*?)\s*<([^>]+)>\s*$/.exec(value);
  const name = named?.[1]?.replace(/^"|"$/g, '') ?? '';
  const address = (named?.[2] ?? value).trim();
  if (!ADDRESS.test(address)) throw new MailConfigError('MAIL_FROM must be an address, e.g. "Hybrid Coach <no-reply@example.com>" (wrangler.toml vars)');
  return { name, address };
}

export function mailConfig(env: Env): MailConfig {
  const development = env.ENVIRONMENT === 'development';
  const where = development ? 'wrangler.toml [vars] or .dev.vars' : `wrangler.toml [env.${env.ENVIRONMENT}.vars] and \`wrangler secret put\``;
  const host = (env.SMTP_HOST ?? '').trim();
  if (!host) throw new MailConfigError(`SMTP_HOST is not set (${where})`);
  const port = Number(env.SMTP_PORT);
  if (!Number.isInteger(port) || port < 1 || port > 65535)
    throw new MailConfigError(`SMTP_PORT must be a port number, not "${env.SMTP_PORT ?? ''}" (${where})`);
  // Workers may not open connections to port 25 (Cloudflare's rule); submission is 465 or 587.
  if (port === 25)
    throw new MailConfigError("SMTP_PORT 25 is not allowed from a Worker: use the provider's submission port, 465 (SMTP_TLS=on) or 587 (SMTP_TLS=starttls)");
  const tls = env.SMTP_TLS as SmtpTls;
  if (!TLS_MODES.includes(tls)) throw new MailConfigError(`SMTP_TLS must be on, starttls or off, not "${env.SMTP_TLS ?? ''}" (${where})`);
  const username = env.SMTP_USERNAME ?? '';
  const password = env.SMTP_PASSWORD ?? '';
  if (Boolean(username) !== Boolean(password)) {
    throw new MailConfigError(`SMTP_USERNAME and SMTP_PASSWORD go together: ${username ? 'SMTP_PASSWORD' : 'SMTP_USERNAME'} is missing (${where})`);
  }
  if (!development) {
    if (tls === 'off') throw new MailConfigError(`SMTP_TLS=off is for development only: use on (port 465) or starttls (port 587) in ${env.ENVIRONMENT}`);
    if (!username) throw new MailConfigError(`SMTP_USERNAME and SMTP_PASSWORD are required in ${env.ENVIRONMENT} (wrangler secret put)`);
    if (host.endsWith('.invalid'))
      throw new MailConfigError(`SMTP_HOST is still the FILL-IN placeholder in ${env.ENVIRONMENT}: set your provider's host (docs/operations.md, "Email")`);
    if (/^(localhost|127\.|\[?::1\]?$)/.test(host)) throw new MailConfigError(`SMTP_HOST=${host} is this machine: not usable in ${env.ENVIRONMENT}`);
  }
  const from = parseFrom(env.MAIL_FROM ?? '');
  const retryBaseMs = Number(env.MAIL_RETRY_BASE_MS ?? '30000');
  if (!Number.isFinite(retryBaseMs) || retryBaseMs < 100) throw new MailConfigError(`MAIL_RETRY_BASE_MS must be a number of milliseconds ≥ 100 (${where})`);
  return {
    host,
    port,
    tls,
    ...(username ? { credentials: { username, password } } : {}),
    from,
    domain: from.address.slice(from.address.indexOf('@') + 1),
    retryBaseMs,
  };
}
