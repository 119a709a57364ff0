/** What a job is for: the session its dispatch names, checked against the room it is in. */
import { type DispatchMetadata, type SessionRef, roomNameFor } from '@hybrid-coach/shared/agent-contract';

/**
 * The job's session, from its dispatch metadata, if the metadata names the very room the job is in
 * (`session-<sessionId>`); null otherwise. Only the Worker dispatches agents, but a dispatch naming
 * another session would load that client's context and file this room's words under it: refused.
 */
export function sessionOfJob(roomName: string | undefined, rawMetadata: string): (DispatchMetadata & SessionRef) | null {
  let m: Partial<DispatchMetadata>;
  try {
    m = JSON.parse(rawMetadata) as Partial<DispatchMetadata>;
  } catch {
    return null;
  }
  if (typeof m?.sessionId !== 'string' || typeof m.clientId !== 'string' || !roomName) return null;
  if (roomName !== roomNameFor(m.sessionId)) return null;
  return { sessionId: m.sessionId, clientId: m.clientId, roomName };
}
