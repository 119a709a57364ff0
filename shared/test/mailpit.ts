/**
 * Reading the emails a test Mailpit (scripts/mailpit.mjs, test mode) received, over its REST API with
 * fetch only: for the Worker tests (workers/test/mailpit.ts, inside workerd) and e2e (e2e/mail.ts, Node).
 *
 * Tests share one Mailpit and run in parallel: give each test its own addresses and never delete all
 * messages. Mailpit's `to:` and `message-id:` searches match substrings, so results are filtered exactly.
 */

export interface MailAddress {
  Name: string;
  Address: string;
}

/** One message in a list or search answer. */
export interface MailSummary {
  ID: string;
  MessageID: string;
  From: MailAddress | null;
  To: MailAddress[] | null;
  Subject: string;
  Created: string;
  /** The SMTP login the sender used (Mailpit accepts any). */
  Username: string;
}

/** One message in full (`GET /api/v1/message/{ID}`). */
export interface MailMessage {
  ID: string;
  /** Without the angle brackets. */
  MessageID: string;
  From: MailAddress | null;
  To: MailAddress[] | null;
  Cc: MailAddress[] | null;
  ReplyTo: MailAddress[] | null;
  Subject: string;
  Date: string;
  Username: string;
  /** The text/plain part, decoded. */
  Text: string;
  /** The text/html part, decoded. */
  HTML: string;
  Attachments: { PartID: string; FileName: string; ContentType: string; Size: number }[];
  Inline: { PartID: string; FileName: string; ContentType: string; Size: number }[];
}

/** A Chaos trigger: fail this SMTP step with `ErrorCode` (400-599) in `Probability` percent of attempts. */
export interface ChaosTrigger {
  ErrorCode?: number;
  Probability: number;
}

export interface Chaos {
  Sender?: ChaosTrigger;
  Recipient?: ChaosTrigger;
  Authentication?: ChaosTrigger;
}

export interface WaitOptions {
  /** Only a message with exactly this subject. */
  subject?: string;
  /** Default 10 s. */
  timeoutMs?: number;
}

/** The API of the Mailpit at `baseUrl` (`http://127.0.0.1:<port>`). */
export function mailpit(baseUrl: string) {
  const api = async <T>(path: string, init?: RequestInit): Promise<T> => {
    const res = await fetch(`${baseUrl}/api/v1/${path}`, init);
    if (!res.ok) throw new Error(`Mailpit ${init?.method ?? 'GET'} /api/v1/${path}: HTTP ${res.status} ${await res.text()}`);
    return (await res.json()) as T;
  };
  const search = async (query: string) => (await api<{ messages: MailSummary[] }>(`search?limit=200&query=${encodeURIComponent(query)}`)).messages;
  const quoted = (s: string) => `"${s.replace(/"/g, '')}"`;

  /** The messages addressed (To) to exactly `address`, oldest first. */
  const listTo = async (address: string, subject?: string) => {
    const wanted = address.toLowerCase();
    const found = await search(`to:${quoted(address)}`);
    return found
      .filter((m) => (m.To ?? []).some((t) => t.Address.toLowerCase() === wanted))
      .filter((m) => subject === undefined || m.Subject === subject)
      .reverse();
  };

  /** One message in full (Text, HTML, Attachments, MessageID, Username...). Marks it read. */
  const messageById = (id: string) => api<MailMessage>(`message/${encodeURIComponent(id)}`);

  return {
    listTo,
    messageById,

    /** At least `count` messages to exactly `address`, oldest first, in full; waits as waitForMail does. */
    async waitForCount(address: string, count: number, { timeoutMs = 10_000 }: WaitOptions = {}): Promise<MailMessage[]> {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const found = await listTo(address);
        if (found.length >= count) return Promise.all(found.map((m) => messageById(m.ID)));
        if (Date.now() > deadline)
          throw new Error(`${found.length} of ${count} emails to ${address} arrived within ${timeoutMs} ms: ${JSON.stringify(found.map((m) => m.Subject))}`);
        await new Promise((done) => setTimeout(done, 100));
      }
    },

    /**
     * The first message to exactly `address` (and with `subject`, if given), in full, waiting for it
     * (polled every 100 ms) until `timeoutMs`; fails then, saying what did arrive for that address.
     */
    async waitForMail(address: string, { subject, timeoutMs = 10_000 }: WaitOptions = {}): Promise<MailMessage> {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const [first] = await listTo(address, subject);
        if (first) return messageById(first.ID);
        if (Date.now() > deadline) {
          const other = (await listTo(address)).map((m) => JSON.stringify(m.Subject));
          throw new Error(
            `no email to ${address}${subject === undefined ? '' : ` with subject ${JSON.stringify(subject)}`} within ${timeoutMs} ms` +
              (other.length > 0 ? ` (it got: ${other.join(', ')})` : ' (it got none)'),
          );
        }
        await new Promise((done) => setTimeout(done, 100));
      }
    },

    /** How many messages carry this Message-ID (with or without its angle brackets): 1 means sent once. */
    async countByMessageId(messageId: string): Promise<number> {
      const id = messageId.replace(/^<|>$/g, '');
      return (await search(`message-id:${quoted(id)}`)).filter((m) => m.MessageID === id).length;
    },

    /**
     * Makes SMTP steps fail on purpose (test mode only). It applies to every test using this Mailpit: only
     * for a test that runs alone, and clearChaos() after it.
     */
    setChaos: (chaos: Chaos) => api<Chaos>('chaos', { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(chaos) }),

    /** Every Chaos trigger back to never. */
    clearChaos: () => api<Chaos>('chaos', { method: 'PUT', headers: { 'content-type': 'application/json' }, body: '{}' }),
  };
}
