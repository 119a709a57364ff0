import { useQuery } from '@tanstack/react-query';
import { Link } from 'react-router';
import { messageOf } from '../api/client';
import { Alert, Loading } from '../ui';
import { type LiveSession, loadLive } from './clients';
import { useCoach } from './coach-only';

/** How often "Live now" is read again while the dashboard is open. */
const LIVE_POLL_MS = 10_000;

/** "12 min left", "under a minute left", "no cap": the time left, in whole minutes (rounded up). */
export function timeLeft(remainingSeconds: number | null): string {
  if (remainingSeconds === null) return 'no cap';
  if (remainingSeconds <= 0) return 'time is up';
  if (remainingSeconds < 60) return 'under a minute left';
  const minutes = Math.ceil(remainingSeconds / 60);
  return `${minutes} min left`;
}

/**
 * The dashboard's "Live now": sessions going on that the coach can join (their own, and Premium
 * clients' rooms no coach has taken), who is in each and the time left; read again every 10 seconds.
 */
export function LiveNow() {
  // One read at a time (TanStack Query never overlaps a query's fetches); the last list stays on a failure.
  const query = useQuery({ queryKey: ['live'], queryFn: loadLive, refetchInterval: LIVE_POLL_MS, refetchIntervalInBackground: true });
  const live = query.data ?? null;
  const error = query.isError ? messageOf(query.error) : null;

  return (
    <section className="hc-card" aria-labelledby="live-title" data-testid="live-sessions">
      <h2 id="live-title">Live now</h2>
      {error && (
        <Alert tone="warn">
          <p>We could not refresh this list: {error} It tries again in a few seconds.</p>
        </Alert>
      )}
      {live === null ? (
        !error && <Loading label="Looking for live sessions…" />
      ) : live.length === 0 ? (
        <p className="hc-muted">No session is live right now. Premium clients’ sessions appear here as they start.</p>
      ) : (
        <ul className="hc-list" aria-label="Live sessions">
          {live.map((s) => (
            <LiveItem key={s.sessionId} session={s} />
          ))}
        </ul>
      )}
    </section>
  );
}

function LiveItem({ session: s }: { session: LiveSession }) {
  const coach = useCoach();
  const mine = s.coachId === coach.id;
  const who = s.coachPresent
    ? mine
      ? 'You are in the room'
      : `${s.coachName ?? 'A coach'} is in the room`
    : s.coachId
      ? mine
        ? 'Your session (you are not in the room)'
        : `${s.coachName ?? 'A coach'}’s session (not in the room)`
      : 'No coach yet';
  return (
    <li data-testid="live-session" data-session-id={s.sessionId}>
      <div className="hc-row hc-row-between">
        <strong data-field="client">{s.clientName}</strong>
        <span className="hc-row hc-small">
          <span className="hc-badge hc-badge-live">{s.status === 'ACTIVE' ? 'live' : 'waiting'}</span>
          <span className="hc-muted" data-field="time-left">
            {timeLeft(s.remainingSeconds)}
          </span>
        </span>
      </div>
      <p className="hc-small hc-tight">
        <span data-field="coach">{who}</span>
        <span className="hc-muted">
          {' '}
          · Client {s.clientPresent ? 'in the room' : 'not in the room'} · AI {s.aiPresent ? 'in the room' : 'not in the room'}
        </span>
      </p>
      {s.canJoin && (
        <div className="hc-live-join">
          <Link className="hc-button hc-button-primary" to={`/call/${encodeURIComponent(s.sessionId)}`} aria-label={`Join ${s.clientName}’s session`}>
            Join
          </Link>
        </div>
      )}
    </li>
  );
}
