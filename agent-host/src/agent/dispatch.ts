/** What a job is for: the session its dispatch names, checked against the room it is in. */
import { DispatchMetadata, jsonOf, roomNameFor, type SessionRef } from '@hybrid-coach/shared/agent-contract';

/**
 * The job's session, from its dispatch metadata, if the metadata names the very room the job is in
 * (`session-<sessionId>`); null otherwise. Only the Worker dispatches agents, but a dispatch naming
 * another session would load that client's context and file this room's words under it: refused.
 */
export function sessionOfJob(roomName: string | undefined, rawMetadata: string): (DispatchMetadata & SessionRef) | null {
  const m = DispatchMetadata.safeParse(jsonOf(rawMetadata));
  if (!m.success || !roomName || roomName !== roomNameFor(m.data.sessionId)) return null;
  return { sessionId: m.data.sessionId, clientId: m.data.clientId, roomName };
}
