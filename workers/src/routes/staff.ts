/**
 * The staff desk's live events (issue 16): a signed-in coach or admin's portal opens one WebSocket and
 * hears of every crisis flag raised or changed, within a second (workers/src/staff-desk.ts).
 */
import { staffDesk } from '../lib/crisis-flags';
import { ok } from '../lib/errors';
import { authRoute, COACHES, createApp, okBody } from '../lib/openapi';
import { ticketedUpgrade } from '../lib/ws-tickets';
import { WS_TICKET_TTL_MS, wsTicketSchema } from './rooms';

const StaffWsTicket = wsTicketSchema('StaffWsTicket', '/api/staff/ws');

const wsTicketRoute = authRoute({
  method: 'post',
  path: '/ws-ticket',
  roles: COACHES,
  summary: 'A single-use ticket, valid 30 seconds, to open the staff desk’s live events WebSocket (coaches and admins)',
  responses: { 201: okBody('The ticket', StaffWsTicket) },
});

export const staff = createApp()
  .openapi(wsTicketRoute, async (c) => {
    const user = c.get('user');
    const { ticket, expiresAt } = await staffDesk(c.env).mintWsTicket({ userId: user.id, role: user.role }, WS_TICKET_TTL_MS);
    return c.json(ok({ ticket, expiresAt: new Date(expiresAt).toISOString() }), 201);
  })
  /** Crisis flags raised and changed (shared/src/staff-events.ts), admitted by a ticket from POST /api/staff/ws-ticket. */
  .get('/ws', (c) => ticketedUpgrade(c.req.raw, staffDesk(c.env), '/api/staff/ws-ticket'));
