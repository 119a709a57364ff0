import { Component, Suspense, lazy } from 'react';
import type { ReactNode } from 'react';
import { useParams } from 'react-router';
import { Button, ErrorState, Loading } from '../ui';

/** The coach's call room and everything LiveKit, in its own chunk: only this route downloads it. */
const CoachCallRoom = lazy(() => import('./call/coach-call-room'));

/** `/call/:sessionId`: the coach joins a live session. */
export function CallPage() {
  const { sessionId = '' } = useParams();
  return (
    <ChunkBoundary>
      <Suspense fallback={<Loading label="Opening the call room…" />}>
        <CoachCallRoom key={sessionId} sessionId={sessionId} />
      </Suspense>
    </ChunkBoundary>
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
