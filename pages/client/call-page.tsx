import { Component, Suspense, lazy } from 'react';
import type { ReactNode } from 'react';
import { useLocation, useParams } from 'react-router';
import { Button, ErrorState, Loading } from '../ui';
import type { Ticket } from './call/call-room';

/** The call room and everything LiveKit, in its own chunk: only this route downloads it. */
const CallRoom = lazy(() => import('./call/call-room'));

/**
 * The call route: the waiting room while the AI coach joins, then the call. Arriving from "Start a
 * session", the ticket comes with the navigation; on a reload or from the dashboard, the room is
 * joined again with POST /api/rooms/:id/join.
 */
export function CallPage() {
  const { sessionId = '' } = useParams();
  const location = useLocation();
  const ticket = (location.state as { ticket?: Ticket } | null)?.ticket;
  return (
    <div className="hc-stack">
      <ChunkBoundary>
        <Suspense fallback={<Loading label="Opening your call room…" />}>
          <CallRoom key={sessionId} sessionId={sessionId} initialTicket={ticket?.sessionId === sessionId ? ticket : undefined} />
        </Suspense>
      </ChunkBoundary>
    </div>
  );
}

/** A call room that fails to download (a dropped connection, a new deploy) gets a way to try again. */
class ChunkBoundary extends Component<{ children: ReactNode }, { failed: boolean }> {
  override state = { failed: false };
  static getDerivedStateFromError() {
    return { failed: true };
  }
  override render() {
    if (!this.state.failed) return this.props.children;
    return (
      <ErrorState
        title="We could not open the call room"
        message="Part of the page did not load. Check your connection, then try again."
        action={
          <Button variant="secondary" onClick={() => window.location.reload()}>
            Try again
          </Button>
        }
      />
    );
  }
}
