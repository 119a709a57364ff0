/**
 * Single-use WebSocket tickets, kept in a Durable Object's storage (issue 13). A portal's WebSocket upgrade
 * carries one, valid for seconds, never the login token (a URL ends up in request logs). The object that
 * holds the sockets holds the tickets: it serialises its calls, so a ticket is taken once.
 */
import { AppError } from './errors';

/** Whom a WebSocket ticket admits. */
export interface WsTicketHolder {
  userId: string;
  role: string;
}

const PREFIX = 'ws-ticket:';

/** Stores a ticket for one WebSocket upgrade by `holder`, valid `ttlMs`; drops expired ones. */
export async function mintWsTicket(storage: DurableObjectStorage, holder: WsTicketHolder, ttlMs: number): Promise<{ ticket: string; expiresAt: number }> {
  const now = Date.now();
  const held = await storage.list<{ expiresAt: number }>({ prefix: PREFIX, limit: 128 });
  const expired = [...held].filter(([, t]) => t.expiresAt <= now).map(([key]) => key);
  if (expired.length > 0) await storage.delete(expired);
  const ticket = btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(32))))
    .replace(/\+/g, '-')
    .replace(/\//g, '_')
    .replace(/=+$/, '');
  const expiresAt = now + ttlMs;
  await storage.put(`${PREFIX}${ticket}`, { ...holder, expiresAt });
  return { ticket, expiresAt };
}

/** Takes a ticket, once: whom it was minted for, or null when it is unknown, used or expired. */
export async function redeemWsTicket(storage: DurableObjectStorage, ticket: string): Promise<WsTicketHolder | null> {
  const key = `${PREFIX}${ticket}`;
  const held = await storage.get<WsTicketHolder & { expiresAt: number }>(key);
  if (!held) return null;
  await storage.delete(key);
  return held.expiresAt > Date.now() ? { userId: held.userId, role: held.role } : null;
}

/** What answers a ticketed WebSocket upgrade: a Durable Object's stub. */
interface SocketHolder {
  redeemWsTicket(ticket: string): Promise<WsTicketHolder | null>;
  fetch(request: Request): Promise<Response>;
}

/**
 * A portal's WebSocket upgrade, admitted by the single-use ticket in `?ticket=` (400 if this is not an
 * upgrade, 401 without a good ticket) and handed to the object holding the sockets with the holder's id
 * and role as headers; the used ticket goes no further. `ticketPath` names where a fresh one comes from.
 */
export async function ticketedUpgrade(request: Request, holder: SocketHolder, ticketPath: string): Promise<Response> {
  if (request.headers.get('Upgrade')?.toLowerCase() !== 'websocket') {
    throw new AppError('VALIDATION_ERROR', 'This endpoint speaks WebSocket only', { fields: { Upgrade: 'expected websocket' } });
  }
  const url = new URL(request.url);
  const ticket = url.searchParams.get('ticket');
  const refused = () => new AppError('UNAUTHORIZED', `Open the live events with a fresh ticket from POST ${ticketPath}`);
  if (!ticket || ticket.length > 64) throw refused();
  const admitted = await holder.redeemWsTicket(ticket);
  if (!admitted) throw refused();
  const headers = new Headers(request.headers);
  headers.set('X-HC-User-Id', admitted.userId);
  headers.set('X-HC-User-Role', admitted.role);
  url.search = '';
  return holder.fetch(new Request(url, { headers }));
}

/**
 * Inside the object: accepts the WebSocket `ticketedUpgrade` handed over (hibernatable, tagged with the
 * holder's id and role), or answers 426 to anything else. The socket is null then.
 */
export function acceptTicketedSocket(ctx: DurableObjectState, request: Request): { response: Response; socket: WebSocket | null } {
  if (request.headers.get('Upgrade') !== 'websocket') return { response: new Response('Expected a WebSocket', { status: 426 }), socket: null };
  const userId = request.headers.get('X-HC-User-Id') ?? 'unknown';
  const role = request.headers.get('X-HC-User-Role') ?? 'CLIENT';
  const pair = new WebSocketPair();
  const [client, server] = Object.values(pair) as [WebSocket, WebSocket];
  ctx.acceptWebSocket(server, [userId, role]);
  return { response: new Response(null, { status: 101, webSocket: client }), socket: server };
}
