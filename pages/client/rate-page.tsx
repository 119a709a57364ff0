import { useQuery } from '@tanstack/react-query';
import { Link, useLocation, useParams } from 'react-router';
import { sessionQuery } from '../shared/queries';
import { Pending } from '../shared/query';
import { Alert, formatDate, formatDuration, Loading } from '../ui';
import { RatingForm } from './rating-form';

const ENDED_BY: Record<string, string> = {
  cap: 'You reached the time for this session.',
  coach: 'Your coach ended the session.',
};

/** After a call (the call room comes here when it ends), or later from the dashboard: rate the session once. */
export function RatePage() {
  const { sessionId = '' } = useParams();
  const location = useLocation();
  const ended = location.state as { justEnded?: boolean; reason?: string } | null;
  const justEnded = ended?.justEnded === true;
  const load = useQuery({
    ...sessionQuery(sessionId),
    // Just after the call, the session may take a moment to be recorded as completed: read it again
    // every second meanwhile, quietly (the page keeps showing "Session ended").
    refetchInterval: (q) => (justEnded && q.state.data && q.state.data.status !== 'COMPLETED' ? 1000 : false),
  });
  if (load.data === undefined) return <Pending query={load} label="Loading the session…" what="this session" />;
  const pending = load.data.status !== 'COMPLETED' && justEnded;
  const s = load.data;
  return (
    <section className="hc-card hc-stack hc-medium" aria-labelledby="rate-title" data-testid="rate-page">
      <h1 id="rate-title">{ended?.justEnded ? 'Session ended' : 'Rate your session'}</h1>
      {ended?.justEnded && (
        <Alert tone="info">
          <p>{(ended.reason && ENDED_BY[ended.reason]) ?? 'Thank you for your session.'} How was it? Your rating helps us coach you better.</p>
        </Alert>
      )}
      <p className="hc-muted">
        {formatDate(s.startedAt ?? s.createdAt)}
        {s.status === 'COMPLETED' && s.durationSeconds !== null ? ` · ${formatDuration(s.durationSeconds)}` : ''}
      </p>
      {s.status === 'COMPLETED' && s.startedAt === null ? (
        <p data-testid="not-started">This session ended before your coach joined, so there is nothing to rate. It does not count toward your month.</p>
      ) : s.status === 'COMPLETED' ? (
        <RatingForm sessionId={s.id} existing={s.rating} />
      ) : pending ? (
        <Loading label="Saving your session…" />
      ) : (
        <Alert tone="info">
          <p>You can rate this session once it has ended.</p>
        </Alert>
      )}
      <Link to="/dashboard">Back to your dashboard</Link>
    </section>
  );
}
