// TEMP (mine): replaced by the helper's version at merge.
import { env } from 'cloudflare:test';

export interface MailpitMessage {
  ID: string;
  MessageID: string;
  From: { Name: string; Address: string };
  To: { Name: string; Address: string }[];
  Subject: string;
  Text: string;
  HTML: string;
  Username: string;
  Attachments: { PartID: string; FileName: string; ContentType: string }[];
}

const api = (path: string, init?: RequestInit) => fetch(`${env.TEST_MAILPIT_URL}${path}`, init);

export async function messagesTo(address: string): Promise<{ ID: string; MessageID: string; To: { Address: string }[] }[]> {
  const res = await api(`/api/v1/search?query=${encodeURIComponent(`to:"${address}"`)}&limit=200`);
  const json = (await res.json()) as { messages: { ID: string; MessageID: string; To: { Address: string }[] }[] };
  return json.messages.filter((m) => m.To.some((t) => t.Address.toLowerCase() === address.toLowerCase()));
}

export async function messageById(id: string): Promise<MailpitMessage> {
  return (await (await api(`/api/v1/message/${id}`)).json()) as MailpitMessage;
}

export async function mailTo(address: string, { timeoutMs = 10_000, count = 1 } = {}): Promise<MailpitMessage[]> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const found = await messagesTo(address);
    if (found.length >= count) return Promise.all(found.map((m) => messageById(m.ID)));
    if (Date.now() > until) throw new Error(`no mail to ${address} within ${timeoutMs} ms (${found.length} found)`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function countByMessageId(messageId: string): Promise<number> {
  const res = await api(`/api/v1/search?query=${encodeURIComponent(`message-id:"${messageId}"`)}`);
  return ((await res.json()) as { messages: unknown[] }).messages.length;
}

export async function setChaos(chaos: Record<string, { ErrorCode: number; Probability: number }>): Promise<void> {
  await api('/api/v1/chaos', { method: 'PUT', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(chaos) });
}
export const clearChaos = () =>
  setChaos({ Sender: { ErrorCode: 451, Probability: 0 }, Recipient: { ErrorCode: 451, Probability: 0 }, Authentication: { ErrorCode: 451, Probability: 0 } });
