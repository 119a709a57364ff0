import { useQuery } from '@tanstack/react-query';
import { type ReactNode, useId, useState } from 'react';
import { Link } from 'react-router';
import { Pending } from '../shared/query';
import { Alert, formatDuration } from '../ui';
import { type ClientDetail, type ClientSession, loadClient, MOOD_LABELS, TIER_LABELS } from './clients';
import { useCoach } from './coach-only';
import { NotesPanel } from './notes-panel';
import { formatWhen, reviewPath } from './sessions';

/**
 * The client data sidebar: the client's profile (onboarding answers and what the AI learnt), their
 * session history with summaries, and the coach's private notes on them. `page`: the client's own
 * page, in full. `call`: beside the live transcript (collapsible on narrow screens), where a new note
 * is on the live session `liveSessionId`.
 */
export function ClientSidebar({ clientId, variant, liveSessionId }: { clientId: string; variant: 'page' | 'call'; liveSessionId?: string }) {
  const load = useQuery({ queryKey: ['client', clientId], queryFn: () => loadClient(clientId) });
  const [open, setOpen] = useState(false);
  const titleId = useId();
  const bodyId = useId();
  if (load.data === undefined) return <Pending query={load} label="Loading the client…" what="this client" />;
  const { client, profile, sessions } = load.data;

  const sessionLabel = (id: string): ReactNode => {
    const s = sessions.find((x) => x.id === id);
    if (!s) return 'on a session';
    const when = `on the session of ${formatWhen(s.startedAt ?? s.createdAt)}`;
    return s.reviewable && s.id !== liveSessionId ? <Link to={reviewPath(s.id)}>{when}</Link> : when;
  };

  const Title = variant === 'page' ? 'h1' : 'h2';
  const Frame = variant === 'page' ? 'div' : 'aside';
  return (
    <Frame
      className="hc-client-sidebar hc-stack"
      data-variant={variant}
      data-open={String(open)}
      aria-labelledby={titleId}
      data-testid="client-sidebar"
      data-client-id={client.id}
    >
      <div className={variant === 'call' ? 'hc-card hc-client-head' : 'hc-client-head'}>
        <Title id={titleId}>
          {variant === 'call' && <span className="hc-muted hc-client-kicker">Client · </span>}
          {client.displayName}
        </Title>
        <p className="hc-row hc-small">
          <span className="hc-badge">{TIER_LABELS[client.tier]}</span>
          <span className="hc-muted">{client.email}</span>
          <span className="hc-muted">
            {client.sessionCount} session{client.sessionCount === 1 ? '' : 's'}
          </span>
          {client.nextAppointmentAt && <span className="hc-muted">Next appointment {formatWhen(client.nextAppointmentAt)}</span>}
        </p>
        {variant === 'call' && (
          <button
            type="button"
            className="hc-button hc-button-secondary hc-sidebar-toggle"
            aria-expanded={open}
            aria-controls={bodyId}
            onClick={() => setOpen(!open)}
          >
            {open ? 'Hide client details' : 'Show client details'}
          </button>
        )}
      </div>
      <div id={bodyId} className="hc-client-body">
        <div className="hc-client-profile">
          <ProfileCard profile={profile} />
        </div>
        <div className="hc-client-sessions">
          <SessionHistory sessions={sessions} variant={variant} liveSessionId={liveSessionId} />
        </div>
        <div className="hc-client-notes">
          <NotesPanel clientId={client.id} scope="client" sessionLabel={sessionLabel} {...(liveSessionId ? { sessionId: liveSessionId } : {})} />
        </div>
      </div>
    </Frame>
  );
}

function ProfileCard({ profile }: { profile: ClientDetail['profile'] }) {
  const titleId = useId();
  const none = <span className="hc-muted">Not given</span>;
  const list = (items: string[], empty: string) =>
    items.length === 0 ? (
      <span className="hc-muted">{empty}</span>
    ) : (
      <ul className="hc-bullets">
        {items.map((item, i) => (
          // biome-ignore lint/suspicious/noArrayIndexKey: a fixed list of remembered facts, which may repeat
          <li key={i}>{item}</li>
        ))}
      </ul>
    );
  return (
    <section className="hc-card hc-stack" aria-labelledby={titleId} data-testid="client-profile">
      <h2 id={titleId}>Profile</h2>
      {!profile.onboardingCompleted && (
        <Alert tone="info">
          <p>This client has not finished onboarding yet.</p>
        </Alert>
      )}
      <dl className="hc-facts">
        <dt>Goals</dt>
        <dd data-field="goals">{profile.coachingGoals || none}</dd>
        <dt>Symptoms</dt>
        <dd data-field="symptoms">{profile.symptoms || none}</dd>
        <dt>Mood at onboarding</dt>
        <dd data-field="mood">{profile.initialMood ? `${profile.initialMood} of 5 · ${MOOD_LABELS[profile.initialMood] ?? ''}` : none}</dd>
        <dt>Facts</dt>
        <dd data-field="facts">{list(profile.clientFacts, 'None learnt yet')}</dd>
        <dt>Challenges</dt>
        <dd data-field="challenges">{list(profile.challenges, 'None recorded')}</dd>
        <dt>Last summary</dt>
        <dd data-field="last-summary">
          {profile.lastSummary ? <p className="hc-pre">{profile.lastSummary}</p> : <span className="hc-muted">No session summarised yet</span>}
        </dd>
      </dl>
    </section>
  );
}

function SessionHistory({ sessions, variant, liveSessionId }: { sessions: ClientSession[]; variant: 'page' | 'call'; liveSessionId: string | undefined }) {
  const coach = useCoach();
  const titleId = useId();
  const withWhom = (s: ClientSession) => (s.coachId === coach.id ? 'With you' : s.coachName ? `With ${s.coachName}` : 'With the AI alone');
  return (
    <section className="hc-card hc-stack" aria-labelledby={titleId} data-testid="client-sessions">
      <h2 id={titleId}>Sessions</h2>
      {sessions.length === 0 ? (
        <p className="hc-muted">No sessions yet.</p>
      ) : (
        <ul className="hc-list" aria-label="Sessions">
          {sessions.map((s) => {
            const when = formatWhen(s.startedAt ?? s.createdAt);
            const live = s.id === liveSessionId;
            return (
              <li key={s.id} data-testid="client-session" data-session-id={s.id}>
                <div className="hc-row hc-row-between">
                  {s.reviewable && !live ? <Link to={reviewPath(s.id)}>{when}</Link> : <strong>{when}</strong>}
                  <span className="hc-row hc-small">
                    {live && <span className="hc-badge hc-badge-live">This session</span>}
                    {s.flagged && <span className="hc-badge hc-badge-danger">Flagged</span>}
                    {s.status !== 'COMPLETED' && !live && <span className="hc-badge">{s.status.toLowerCase()}</span>}
                    {s.status === 'COMPLETED' && (
                      <span className="hc-muted">{s.startedAt ? formatDuration(s.durationSeconds) : 'ended before it started'}</span>
                    )}
                    {s.rating !== null && <span className="hc-muted">Rated {s.rating}/5</span>}
                  </span>
                </div>
                <p className="hc-muted hc-small hc-tight">{withWhom(s)}</p>
                {s.aiSummary ? (
                  <p className={variant === 'call' ? 'hc-clamp' : 'hc-pre hc-tight'} data-testid="client-session-summary">
                    {s.aiSummary}
                  </p>
                ) : (
                  !live && <p className="hc-muted hc-tight">No summary.</p>
                )}
              </li>
            );
          })}
        </ul>
      )}
    </section>
  );
}
