import { connect } from 'cloudflare:sockets';
import { env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { countByMessageId, firstMailTo, messagesTo } from './mailpit';

/**
 * One SMTP conversation from inside workerd to the test Mailpit, written out by hand so the helpers are
 * proven without the Worker's own client. Resolves with each reply's code, in order.
 */
async function smtp(commands: string[]): Promise<number[]> {
  const socket = connect({ hostname: env.SMTP_HOST, port: Number(env.SMTP_PORT) });
  const writer = socket.writable.getWriter();
  // Bytes decoded here, not through pipeThrough(new TextDecoderStream()): with that pipe this
  // exchange never finished here (workerd spun until it ran out of memory).
  const reader = socket.readable.getReader();
  const decoder = new TextDecoder();
  let buffered = '';
  const reply = async (): Promise<number> => {
    for (;;) {
      // A reply ends with a line whose code is followed by a space (multi-line ones use a dash).
      const last = /(?:^|\r\n)(\d{3}) [^\r\n]*\r\n/.exec(buffered);
      if (last?.[1]) {
        buffered = buffered.slice(last.index + last[0].length);
        return Number(last[1]);
      }
      const { value, done } = await reader.read();
      if (done) throw new Error(`the connection closed mid-reply: ${buffered}`);
      buffered += decoder.decode(value, { stream: true });
    }
  };
  const codes = [await reply()];
  for (const command of commands) {
    await writer.write(new TextEncoder().encode(`${command}\r\n`));
    codes.push(await reply());
  }
  await socket.close();
  return codes;
}

function message(to: string, messageId: string, subject: string) {
  return [
    'From: Hybrid Coach <no-reply@hybrid.coach>',
    `To: ${to}`,
    `Subject: ${subject}`,
    `Message-ID: <${messageId}>`,
    'Content-Type: text/plain; charset=utf-8',
    '',
    'Hello from the test.',
    '.',
  ].join('\r\n');
}

const auth = `AUTH PLAIN ${btoa(`\0${env.SMTP_USERNAME}\0${env.SMTP_PASSWORD}`)}`;

describe('the test Mailpit', () => {
  it('keeps an email sent from inside workerd, found by its exact recipient and counted by Message-ID', async () => {
    const id = crypto.randomUUID();
    const to = `ada-${id}@example.com`;
    const messageId = `${id}@hybrid.coach`;
    const codes = await smtp([
      'EHLO test',
      auth,
      'MAIL FROM:<no-reply@hybrid.coach>',
      `RCPT TO:<${to}>`,
      'DATA',
      message(to, messageId, `Welcome ${id}`),
      'QUIT',
    ]);
    expect(codes).toEqual([220, 250, 235, 250, 250, 354, 250, 221]);

    const mail = await firstMailTo(to, { subject: `Welcome ${id}`, timeoutMs: 5_000 });
    expect(mail.Text).toContain('Hello from the test.');
    expect(mail.Username).toBe(env.SMTP_USERNAME);
    expect(await countByMessageId(`<${messageId}>`)).toBe(1);
    // `to:` searches a substring: an address that merely contains this one is not it.
    expect(await messagesTo(`a-${id}@example.com`)).toEqual([]);
  });

  it('refuses recipients starting with bounce (550), so tests can provoke a permanent failure', async () => {
    const id = crypto.randomUUID();
    const codes = await smtp(['EHLO test', auth, 'MAIL FROM:<no-reply@hybrid.coach>', `RCPT TO:<bounce-${id}@example.com>`, 'QUIT']);
    expect(codes).toEqual([220, 250, 235, 250, 550, 221]);
  });

  it('says what did arrive when the awaited email does not', async () => {
    await expect(firstMailTo(`nobody-${crypto.randomUUID()}@example.com`, { timeoutMs: 300 })).rejects.toThrow(/within 300 ms \(it got none\)/);
  });
});
