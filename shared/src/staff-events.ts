/**
 * The live events the staff desk (workers/src/staff-desk.ts, one Durable Object) sends the coach portals of
 * signed-in coaches and admins over the WebSocket GET /api/flags/ws: one zod schema, used by the object to
 * type what it broadcasts and by the portal to read it. Nothing here quotes what a client said beyond the
 * flag's reason, which staff see on the dashboard anyway. zod/mini: the portals bundle it.
 */
import * as z from 'zod/mini';
import { FLAG_ACTIONS, FLAG_STATES } from './crisis-flags';
import { readMessage } from './room-events';

/** A flag changed: raised (the alert), acknowledged, resolved or reopened. */
export const FlagEvent = z.object({
  type: z.literal('flag'),
  action: z.enum(FLAG_ACTIONS),
  sessionId: z.string(),
  clientName: z.string(),
  reason: z.string(),
  state: z.enum(FLAG_STATES),
  raisedAt: z.number(),
  /** Who owns the follow-up now (null while open). */
  owner: z.nullable(z.object({ id: z.string(), name: z.string() })),
  /** When this change happened. */
  at: z.number(),
  /** Who made it: a portal does not alert its own coach to their own change. Absent or null: the system (a raise). */
  actor: z.optional(z.nullable(z.object({ id: z.string(), name: z.string() }))),
});
export type FlagEvent = z.infer<typeof FlagEvent>;

export const StaffEvent = z.discriminatedUnion('type', [FlagEvent]);
export type StaffEvent = z.infer<typeof StaffEvent>;

/** A WebSocket message as the portal reads it: the event, or null for anything it does not know. */
export const readStaffEvent = (text: string): StaffEvent | null => readMessage(StaffEvent, text);
