/**
 * Who may call what: the status each operation of the API answers to six people, in one table beside the
 * routes. `access.test.ts` calls every operation as each of them and holds the answers to this table; an
 * operation the OpenAPI document has and this table lacks fails that test, and the README shows this
 * table (`accessMarkdown`). A 2xx means allowed; 401 not signed in; 403 not for this role or person; 404
 * where saying "not yours" would tell that the thing exists; 409 allowed in principle, refused by the
 * state (another coach took the seat).
 *
 * The people, for a session, appointment or note of one client with one coach:
 * - anonymous: no sign-in;
 * - client: the client it belongs to (PREMIUM);
 * - otherClient: another PREMIUM client;
 * - otherCoach: a coach who has nothing to do with it;
 * - coach: the client's coach (in the session, on the appointment, the note's author);
 * - admin.
 */
export const ACTORS = ['anonymous', 'client', 'otherClient', 'otherCoach', 'coach', 'admin'] as const;
export type Actor = (typeof ACTORS)[number];

type Row = Record<Actor, number>;
const row = (anonymous: number, client: number, otherClient: number, otherCoach: number, coach: number, admin: number): Row => ({
  anonymous,
  client,
  otherClient,
  otherCoach,
  coach,
  admin,
});

export const ACCESS: Record<string, Row> = {
  //                                                       anonymous, client, otherClient, otherCoach, coach, admin
  'GET /api/health': row(200, 200, 200, 200, 200, 200),
  'GET /api/ready': row(200, 200, 200, 200, 200, 200),
  'POST /api/auth/login': row(200, 200, 200, 200, 200, 200),
  'POST /api/auth/exchange': row(200, 200, 200, 200, 200, 200),
  'POST /api/auth/claim/request': row(200, 200, 200, 200, 200, 200),
  'POST /api/auth/claim': row(200, 200, 200, 200, 200, 200),
  'POST /api/auth/password/forgot': row(200, 200, 200, 200, 200, 200),
  'POST /api/auth/password/reset': row(200, 200, 200, 200, 200, 200),
  'POST /api/users/me/password': row(401, 200, 200, 200, 200, 200),
  'POST /api/auth/mfa': row(200, 200, 200, 200, 200, 200),
  'POST /api/auth/mfa/enrol': row(200, 200, 200, 200, 200, 200),
  'POST /api/auth/mfa/enrol/confirm': row(200, 200, 200, 200, 200, 200),
  'GET /api/users/me/mfa': row(401, 403, 403, 200, 200, 200),
  'POST /api/users/me/mfa/enrol': row(401, 403, 403, 200, 200, 200),
  'POST /api/users/me/mfa/confirm': row(401, 403, 403, 200, 200, 200),
  'POST /api/users/me/mfa/recovery-codes': row(401, 403, 403, 200, 200, 200),
  'POST /api/users/me/mfa/disable': row(401, 403, 403, 200, 200, 403),
  'POST /api/auth/logout': row(401, 200, 200, 200, 200, 200),
  'GET /api/users/me/profile': row(401, 200, 200, 200, 200, 200),
  'PATCH /api/users/me/profile': row(401, 200, 200, 200, 200, 200),
  'GET /api/users/me': row(401, 200, 200, 200, 200, 200),
  'PATCH /api/users/me': row(401, 200, 200, 200, 200, 200),
  'GET /api/users/me/consent': row(401, 200, 200, 200, 200, 200),
  'POST /api/users/me/consent': row(401, 200, 200, 200, 200, 200),
  // Data rights (issue 17): clients only; cancelling a deletion is a sign-in (email and password).
  'GET /api/users/me/export': row(401, 200, 200, 403, 403, 403),
  'POST /api/users/me/deletion': row(401, 200, 200, 403, 403, 403),
  'POST /api/auth/deletion/cancel': row(200, 200, 200, 200, 200, 200),
  'POST /api/admin/people/{id}/erase': row(401, 403, 403, 403, 403, 200),
  'POST /api/rooms': row(401, 201, 201, 403, 403, 403),
  'POST /api/rooms/appointment/{id}': row(401, 201, 404, 403, 403, 403),
  'POST /api/rooms/{sessionId}/join': row(401, 200, 403, 409, 200, 409),
  'POST /api/rooms/{sessionId}/mute-ai': row(401, 403, 403, 403, 200, 403),
  'POST /api/rooms/{sessionId}/whisper': row(401, 403, 403, 403, 201, 403),
  'POST /api/rooms/{sessionId}/end': row(401, 200, 403, 403, 200, 403),
  'GET /api/rooms/{sessionId}': row(401, 200, 403, 403, 200, 200),
  'POST /api/rooms/{sessionId}/ws-ticket': row(401, 201, 403, 403, 201, 201),
  'GET /api/sessions': row(401, 200, 200, 200, 200, 200),
  'GET /api/sessions/{id}': row(401, 200, 404, 404, 200, 200),
  'POST /api/sessions/{id}/rating': row(401, 201, 404, 404, 403, 403),
  'POST /api/admin/skool-sync': row(401, 403, 403, 403, 403, 503),
  'GET /api/admin/skool-sync/runs': row(401, 403, 403, 403, 403, 200),
  'GET /api/admin/skool-sync/runs/{id}': row(401, 403, 403, 403, 403, 200),
  'GET /api/admin/skool-sync/runs/{id}/changes': row(401, 403, 403, 403, 403, 200),
  // On a run the safety rule did not hold back: allowed to admins, refused by the run's state.
  'POST /api/admin/skool-sync/runs/{id}/override': row(401, 403, 403, 403, 403, 409),
  'GET /api/admin/people': row(401, 403, 403, 403, 403, 200),
  'GET /api/admin/people/{id}': row(401, 403, 403, 403, 403, 200),
  'POST /api/admin/people/{id}/tier': row(401, 403, 403, 403, 403, 200),
  'POST /api/admin/people/{id}/role': row(401, 403, 403, 403, 403, 200),
  'POST /api/admin/people/{id}/disable': row(401, 403, 403, 403, 403, 200),
  'POST /api/admin/people/{id}/enable': row(401, 403, 403, 403, 403, 200),
  'POST /api/admin/people/{id}/sign-out': row(401, 403, 403, 403, 403, 200),
  'POST /api/admin/people/{id}/claim-email': row(401, 403, 403, 403, 403, 200),
  'GET /api/admin/audit': row(401, 403, 403, 403, 403, 200),
  'GET /api/admin/agent-latency': row(401, 403, 403, 403, 403, 200),
  'GET /api/clients/{clientId}/notes': row(401, 403, 403, 404, 200, 200),
  'POST /api/clients/{clientId}/notes': row(401, 403, 403, 404, 201, 201),
  'PATCH /api/notes/{id}': row(401, 403, 403, 404, 200, 404),
  'DELETE /api/notes/{id}': row(401, 403, 403, 404, 200, 404),
  'GET /api/search/transcripts': row(401, 403, 403, 200, 200, 200),
  'GET /api/coach/clients': row(401, 403, 403, 200, 200, 200),
  'GET /api/coach/clients/{clientId}': row(401, 403, 403, 404, 200, 200),
  'GET /api/coach/live': row(401, 403, 403, 200, 200, 200),
  'GET /api/availability': row(401, 403, 403, 200, 200, 200),
  'POST /api/availability': row(401, 403, 403, 201, 201, 201),
  'PUT /api/availability/{id}': row(401, 403, 403, 404, 200, 404),
  'DELETE /api/availability/{id}': row(401, 403, 403, 404, 200, 404),
  'GET /api/coaches/slots': row(401, 200, 200, 403, 403, 403),
  'POST /api/appointments': row(401, 201, 201, 403, 403, 403),
  'GET /api/appointments': row(401, 200, 200, 200, 200, 200),
  'POST /api/appointments/{id}/cancel': row(401, 200, 404, 404, 200, 200),
  'GET /api/appointments/{id}/ics': row(401, 200, 404, 404, 200, 200),
  'POST /api/appointments/{id}/reschedule': row(401, 200, 404, 403, 403, 403),
  'POST /api/appointments/{id}/reassign': row(401, 403, 403, 404, 200, 200),
  'GET /api/appointments/{id}/reassign-options': row(401, 403, 403, 404, 200, 200),
  // Crisis flags (issue 16): every coach and admin sees and acknowledges any flag; each call made on an open
  // flag (resolve: one the caller acknowledged first; reopen: one the client's coach resolved).
  'GET /api/flags': row(401, 403, 403, 200, 200, 200),
  'GET /api/flags/resolved': row(401, 403, 403, 200, 200, 200),
  'GET /api/flags/{sessionId}': row(401, 403, 403, 200, 200, 200),
  'POST /api/flags/{sessionId}/acknowledge': row(401, 403, 403, 200, 200, 200),
  'POST /api/flags/{sessionId}/resolve': row(401, 403, 403, 200, 200, 200),
  'POST /api/flags/{sessionId}/reopen': row(401, 403, 403, 200, 200, 200),
  'POST /api/staff/ws-ticket': row(401, 403, 403, 201, 201, 201),
};

/** The table as Markdown, for the README's Security section. */
export function accessMarkdown(): string {
  const head = `| operation | ${ACTORS.join(' | ')} |\n|---|${ACTORS.map(() => '---').join('|')}|`;
  const lines = Object.entries(ACCESS).map(([op, r]) => `| \`${op}\` | ${ACTORS.map((a) => mark(r[a])).join(' | ')} |`);
  return [head, ...lines].join('\n');
}

const mark = (status: number) => (status < 300 ? `**${status}**` : String(status));
