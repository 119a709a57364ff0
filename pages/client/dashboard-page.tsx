import { TIERS } from '@hybrid-coach/shared/tiers';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { Link, useNavigate } from 'react-router';
import { ApiError, api, call, messageOf } from '../api/client';
import { publicPricingUrl } from '../api/config';
import { type Me, meQuery } from '../shared/queries';
import { Pending } from '../shared/query';
import { Alert, Button, EmptyState, formatDate, formatDuration } from '../ui';
import { CancelledByCoach, NextAppointment } from './appointments';
import { type Consent, consentQuery } from './consent';
import { type Profile, profileQuery } from './profile';
import { Stars } from './rating-form';
import { callPath, startOrRejoin } from './start-call';

const loadSessions = () => call(api.api.sessions.$get({ query: {} }));
type SessionList = Awaited<ReturnType<typeof loadSessions>>;

/** The client's home: their plan and what is left of it this month, past sessions, and a way to start one. */
export function DashboardPage() {
  const queries = [useQuery(meQuery), useQuery({ queryKey: ['sessions'], queryFn: loadSessions }), useQuery(profileQuery), useQuery(consentQuery)] as const;
  const [me, sessions, profile, consent] = queries.map((q) => q.data) as [Me | undefined, SessionList | undefined, Profile | undefined, Consent | undefined];
  if (me === undefined || sessions === undefined || profile === undefined || consent === undefined) {
    // The first that failed says why (and "Try again" reads it again); else the spinner.
    return <Pending query={queries.find((q) => q.isError) ?? queries[0]} label="Loading your dashboard…" what="your dashboard" />;
  }
  return (
    <div className="hc-stack">
      <h1>Hello, {me.displayName}</h1>
      <TierBanner me={me} />
      <CancelledByCoach showBookLink />
      <NextAppointment />
      <StartSession onboarded={profile.onboardingCompleted && consent.agreed} />
      <section className="hc-card" aria-labelledby="past-title">
        <h2 id="past-title">Past sessions</h2>
        {sessions.length === 0 ? (
          <EmptyState title="No sessions yet">
            <p>When you finish a session, it will appear here with its summary.</p>
          </EmptyState>
        ) : (
          <ul className="hc-list" aria-label="Past sessions">
            {sessions.map((s) => (
              <li key={s.id} data-testid="past-session" data-session-id={s.id}>
                <div className="hc-row hc-row-between">
                  <strong>{formatDate(s.startedAt ?? s.createdAt)}</strong>
                  <span className="hc-muted">
                    {s.status === 'COMPLETED' ? formatDuration(s.durationSeconds) : <span className="hc-badge">{s.status.toLowerCase()}</span>}
                  </span>
                </div>
                {s.aiSummary ? (
                  <p>{s.aiSummary}</p>
                ) : s.status === 'COMPLETED' && s.startedAt === null ? (
                  <p className="hc-muted">Ended before your coach joined; it did not count toward your month.</p>
                ) : (
                  <p className="hc-muted">No summary for this session.</p>
                )}
                <div className="hc-row hc-row-between">
                  {s.rating ? (
                    <span data-testid="session-rating">
                      Your rating: <Stars rating={s.rating.rating} />
                    </span>
                  ) : s.status === 'COMPLETED' && s.startedAt !== null ? (
                    <Link to={`/sessions/${encodeURIComponent(s.id)}/rate`}>Rate this session</Link>
                  ) : s.status === 'WAITING' || s.status === 'ACTIVE' ? (
                    <Link to={`/call/${encodeURIComponent(s.id)}`}>Return to this session</Link>
                  ) : (
                    <span />
                  )}
                  {s.status === 'COMPLETED' && s.startedAt !== null && <Link to={`/reports/${encodeURIComponent(s.id)}`}>Report</Link>}
                </div>
              </li>
            ))}
          </ul>
        )}
      </section>
    </div>
  );
}

function TierBanner({ me }: { me: Me }) {
  const tier = TIERS[me.tier];
  const minutesLeft = me.usage.remainingMinutes;
  return (
    <section className="hc-card hc-tier" aria-label="Your plan" data-testid="tier-banner">
      <div>
        <div className="hc-tier-name">{tier.name} plan</div>
        <div className="hc-tier-minutes">{minutesLeft === null ? 'Unlimited minutes' : `${minutesLeft} minutes left this month`}</div>
        {me.limits.sessionsPerMonth !== null && (
          <div className="hc-muted">
            {me.usage.sessionsThisMonth} of {me.limits.sessionsPerMonth} session{me.limits.sessionsPerMonth === 1 ? '' : 's'} used
          </div>
        )}
      </div>
      <div className="hc-muted">Resets on {formatDate(me.usage.resetsAt)}</div>
    </section>
  );
}

function StartSession({ onboarded }: { onboarded: boolean }) {
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | Error | null>(null);

  async function start() {
    // Onboarding (and the agreement to what is recorded) comes before the first session: the AI coach reads it when it joins.
    if (!onboarded) {
      navigate('/onboarding', { state: { after: 'start' } });
      return;
    }
    setBusy(true);
    setError(null);
    try {
      // A session already under way (another tab, a moment ago) is the one to go back to.
      navigate(...callPath(await startOrRejoin()));
    } catch (err) {
      // The consent text changed since this page loaded: ask for the new one.
      if (err instanceof ApiError && err.code === 'CONSENT_REQUIRED') {
        await queryClient.invalidateQueries(consentQuery);
        navigate('/onboarding', { state: { after: 'start' } });
        return;
      }
      setBusy(false);
      setError(err instanceof Error ? err : new Error(messageOf(err)));
    }
  }

  const limitReached = error instanceof ApiError && error.code === 'TIER_LIMIT_REACHED';
  return (
    <section className="hc-card hc-stack" aria-labelledby="start-title">
      <h2 id="start-title">Ready when you are</h2>
      <p className="hc-muted">
        {onboarded
          ? 'Find a quiet spot. Your AI coach joins you in a voice call.'
          : 'Before your first session, a few questions about what you would like from coaching. It takes a minute.'}
      </p>
      {limitReached && (
        <Alert tone="warn" title="You have reached this month’s limit">
          <p>{error.message}</p>
          <p>
            <a href={publicPricingUrl}>Upgrade your plan</a> for unlimited sessions.
          </p>
        </Alert>
      )}
      {error && !limitReached && (
        <Alert title="We could not start your session">
          <p>{messageOf(error)}</p>
        </Alert>
      )}
      <div>
        <Button onClick={start} busy={busy} busyLabel={'Starting…'}>
          Start a session
        </Button>
      </div>
    </section>
  );
}
