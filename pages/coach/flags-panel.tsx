import { Link } from 'react-router';
import { useCoach } from './coach-only';
import { FlagActions } from './flag-actions';
import { type CrisisFlag, type FlagList, formatAge } from './flags';
import { formatWhen, reviewPath } from './sessions';

/**
 * The top of the coach's dashboard: the crisis flags that need a coach (open ones first, then those
 * being followed up) with the figures (open flags, the oldest one's wait, the median time to acknowledge
 * over 30 days), each with the buttons that move it on.
 */
export function FlagsPanel({ list }: { list: FlagList }) {
  const { figures, flags } = list;
  return (
    <section className="hc-card hc-flagged" aria-labelledby="flagged-title" data-testid="flagged-sessions">
      <h2 id="flagged-title">Needs your follow-up</h2>
      <dl className="hc-figures" data-testid="flag-figures">
        <div data-testid="figure-open">
          <dt>Open flags</dt>
          <dd>{figures.open}</dd>
        </div>
        <div data-testid="figure-oldest">
          <dt>Oldest open flag</dt>
          <dd>{figures.open === 0 ? 'none open' : formatAge(figures.oldestOpenAgeMs)}</dd>
        </div>
        <div data-testid="figure-median-ack">
          <dt>Median time to acknowledge, 30 days</dt>
          <dd>{formatAge(figures.medianAckMs)}</dd>
        </div>
      </dl>
      {flags.length === 0 ? (
        <p className="hc-muted">No session is flagged. When a client talks of crisis, it appears here first, and you are alerted at once.</p>
      ) : (
        <ul className="hc-list" aria-label="Flagged sessions">
          {flags.map((f) => (
            <FlagItem key={f.sessionId} flag={f} />
          ))}
        </ul>
      )}
    </section>
  );
}

/** Who has the flag, in words: open, yours, or someone's. */
export function FlagStateBadge({ flag }: { flag: Pick<CrisisFlag, 'state' | 'owner'> }) {
  const me = useCoach();
  if (flag.state === 'OPEN') return <span className="hc-badge hc-badge-danger">Open</span>;
  if (flag.state === 'RESOLVED') return <span className="hc-badge">Resolved</span>;
  return <span className="hc-badge hc-badge-info">{flag.owner?.id === me.id ? 'Yours to follow up' : `With ${flag.owner?.name ?? 'a coach'}`}</span>;
}

function FlagItem({ flag: f }: { flag: CrisisFlag }) {
  return (
    <li data-testid="flag-item" data-session-id={f.sessionId} data-state={f.state}>
      <div className="hc-row hc-row-between">
        {f.mayReadTranscript ? (
          <Link to={reviewPath(f.sessionId)}>
            <strong>{f.clientName}</strong> · {formatWhen(f.raisedAt)}
          </Link>
        ) : (
          <span>
            <strong>{f.clientName}</strong> · {formatWhen(f.raisedAt)}
          </span>
        )}
        <FlagStateBadge flag={f} />
      </div>
      <p className="hc-flag-reason">{f.reason}</p>
      {!f.mayReadTranscript && <p className="hc-muted hc-small">Acknowledge it to read the session’s transcript.</p>}
      <FlagActions flag={f} />
    </li>
  );
}
