import { Component, type ComponentType, lazy, type ReactNode, Suspense } from 'react';
import { useLocation, useParams } from 'react-router';
import { Button, ErrorState, Loading } from '../ui';
import type { Ticket } from './use-call-connection';

/** What a portal's call room gets: the session, and the ticket when the navigation brought one. */
export interface CallRoomProps {
  sessionId: string;
  initialTicket: Ticket | undefined;
}

/**
 * The `/call/:sessionId` route of a call portal: the room and everything LiveKit in its own chunk
 * (`load`, a dynamic import), so only this route downloads it. Made once per portal, at module level. Arriving from "Start a session", the
 * ticket comes with the navigation; on a reload the room joins again with POST /api/rooms/:id/join.
 */
export function lazyCallRoute(load: () => Promise<{ default: ComponentType<CallRoomProps> }>, label: string) {
  return <CallPage room={lazy(load)} label={label} />;
}

function CallPage({ room: CallRoom, label }: { room: ComponentType<CallRoomProps>; label: string }) {
  const { sessionId = '' } = useParams();
  const location = useLocation();
  const ticket = (location.state as { ticket?: Ticket } | null)?.ticket;
  return (
    <div className="hc-stack">
      <ChunkBoundary>
        <Suspense fallback={<Loading label={label} />}>
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
