import { useQuery } from '@tanstack/react-query';
import { Link } from 'react-router';
import { Pending } from '../shared/query';
import { EmptyState, formatDuration } from '../ui';
import { useCoach } from './coach-only';
import { loadFlags } from './flags';
import { FlagsPanel } from './flags-panel';
import { LiveNow } from './live-now';
import { type Appointment, formatWhen, loadAppointments, loadSessions, reviewPath, type SessionSummary } from './sessions';

const loadDashboard = async () => {
  const [flags, recent, appointments] = await Promise.all([loadFlags(), loadSessions(), loadAppointments()]);
  return { flags, recent, appointments };
};

/**
 * The coach's home: crisis flags needing a follow-up first (with their figures), sessions live now, upcoming
 * appointments, then recent sessions to review.
 */
export function DashboardPage() {
  const coach = useCoach();
  const load = useQuery({ queryKey: ['dashboard'], queryFn: loadDashboard });
  if (load.data === undefined) return <Pending query={load} label="Loading your dashboard…" what="your dashboard" />;
  const { flags, recent, appointments } = load.data;
  // A session whose flag is being followed up is reviewed from there, not repeated below.
  const flaggedIds = new Set(flags.flags.map((f) => f.sessionId));
  const toReview = recent.filter((s) => !flaggedIds.has(s.id) && s.status !== 'WAITING' && s.status !== 'ACTIVE');
  const upcoming = appointments.filter((a) => a.status === 'SCHEDULED' || a.status === 'ACTIVE');

  return (
    <div className="hc-stack">
      <h1>Hello, {coach.displayName}</h1>

      <FlagsPanel list={flags} />

      <LiveNow />

      <section className="hc-card" aria-labelledby="appointments-title" data-testid="upcoming-appointments">
        <h2 id="appointments-title">Upcoming appointments</h2>
        {upcoming.length === 0 ? (
          <p className="hc-muted">No appointments booked.</p>
        ) : (
          <ul className="hc-list" aria-label="Upcoming appointments">
            {upcoming.map((a) => (
              <AppointmentItem key={a.id} appointment={a} />
            ))}
          </ul>
        )}
      </section>

      <section className="hc-card" aria-labelledby="recent-title" data-testid="recent-sessions">
        <h2 id="recent-title">Recent sessions to review</h2>
        {toReview.length === 0 ? (
          <EmptyState title="No sessions yet">
            <p>Sessions you join appear here with their summary, rating and transcript.</p>
          </EmptyState>
        ) : (
          <ul className="hc-list" aria-label="Recent sessions">
            {toReview.map((s) => (
              <SessionItem key={s.id} session={s} />
            ))}
          </ul>
        )}
      </section>
    </div>
  );
}

function SessionItem({ session: s }: { session: SessionSummary }) {
  const coach = useCoach();
  return (
    <li data-testid="session-item" data-session-id={s.id}>
      <div className="hc-row hc-row-between">
        <Link to={reviewPath(s.id)}>
          <strong>{s.clientName}</strong> · {formatWhen(s.startedAt ?? s.createdAt)}
        </Link>
        <span className="hc-row">
          {s.flag && <span className="hc-badge hc-badge-danger">Flagged</span>}
          <span className="hc-badge">{s.status.toLowerCase()}</span>
          {s.status === 'COMPLETED' && <span className="hc-muted">{s.startedAt ? formatDuration(s.durationSeconds) : 'ended before it started'}</span>}
          {s.rating && <span className="hc-muted">Rated {s.rating.rating}/5</span>}
        </span>
      </div>
      <p className="hc-muted hc-small hc-tight">{s.coachId === coach.id ? 'With you' : s.coachName ? `With ${s.coachName}` : 'With the AI alone'}</p>
      {s.flag && (
        <p className="hc-flag-reason">
          {s.flag.reason} <span className="hc-muted">({formatWhen(s.flag.at)})</span>
        </p>
      )}
      {s.status === 'WAITING' || s.status === 'ACTIVE' ? (
        <Link className="hc-button hc-button-primary" to={`/call/${encodeURIComponent(s.id)}`}>
          Join the call
        </Link>
      ) : s.aiSummary ? (
        <p className="hc-muted hc-clamp">{s.aiSummary}</p>
      ) : (
        <p className="hc-muted">No summary yet.</p>
      )}
    </li>
  );
}

function AppointmentItem({ appointment: a }: { appointment: Appointment }) {
  return (
    <li data-testid="appointment-item">
      <div className="hc-row hc-row-between">
        <strong>{formatWhen(a.scheduledFor)}</strong>
        <span className="hc-muted">
          {a.client.displayName} · {a.durationMinutes} min
        </span>
      </div>
    </li>
  );
}
