import { DurableObject } from 'cloudflare:workers';
import type { StaffEvent } from '@hybrid-coach/shared/staff-events';
import { acceptTicketedSocket, mintWsTicket, redeemWsTicket, type WsTicketHolder } from './lib/ws-tickets';

/** Why a staff socket was closed by the desk (the close frame's reason). */
export type StaffSocketCloseReason = 'account disabled' | 'signed out everywhere' | 'no longer staff';

/**
 * The staff desk: one object (named "staff") holding the WebSocket of every coach portal open by a
 * signed-in coach or admin, so a crisis flag reaches them within a second of being raised, pushed, not
 * polled. The transcript webhook wakes it when it raises a flag; the flag routes when a flag changes hands.
 *
 * The sockets are hibernatable (`acceptWebSocket`): an idle desk costs nothing, and the portal's keep-alive
 * ping is answered by the runtime without waking it. It keeps no state but its tickets: what a portal has
 * missed while disconnected it reads from GET /api/flags when it connects again.
 */
export class StaffDesk extends DurableObject<Env> {
  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair('ping', 'pong'));
  }

  /** Stores a ticket for one WebSocket upgrade by `holder`, valid `ttlMs`. */
  mintWsTicket(holder: WsTicketHolder, ttlMs: number): Promise<{ ticket: string; expiresAt: number }> {
    return mintWsTicket(this.ctx.storage, holder, ttlMs);
  }

  /** Takes a ticket, once: whom it was minted for, or null when it is unknown, used or expired. */
  redeemWsTicket(ticket: string): Promise<WsTicketHolder | null> {
    return redeemWsTicket(this.ctx.storage, ticket);
  }

  /** Accepts a coach portal's WebSocket; the Worker has already checked the ticket (coaches and admins only). */
  override async fetch(request: Request): Promise<Response> {
    return acceptTicketedSocket(this.ctx, request).response;
  }

  override async webSocketClose(ws: WebSocket, code: number): Promise<void> {
    // 1005/1006 are reserved: they describe a close, they cannot be sent.
    ws.close(code === 1005 || code === 1006 ? 1000 : code, 'closing');
  }

  /** Sends `event` to every connected coach portal; answers how many it reached. */
  publish(event: StaffEvent): number {
    const text = JSON.stringify(event);
    let reached = 0;
    for (const ws of this.ctx.getWebSockets()) {
      try {
        ws.send(text);
        reached += 1;
      } catch {
        // A closed socket is dropped by the runtime.
      }
    }
    return reached;
  }

  /**
   * Closes every socket of `userId` (tagged with it when accepted): their account was disabled, they were
   * signed out everywhere, or they are no longer staff, and must not go on hearing of flags. Their portal's
   * reconnect then finds no ticket for them. Answers how many it closed.
   */
  closeSocketsOf(userId: string, reason: StaffSocketCloseReason = 'account disabled'): number {
    const sockets = this.ctx.getWebSockets(userId);
    for (const ws of sockets) {
      try {
        // 1008: policy violation, the close code for "you may no longer be here".
        ws.close(1008, reason);
      } catch {
        // Closing already.
      }
    }
    return sockets.length;
  }

  /** How many coach portals are connected (for tests and the logs). */
  connected(): number {
    return this.ctx.getWebSockets().length;
  }
}
