import { useInfiniteQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { Link } from 'react-router';
import { Button, ChoiceGroup, NoticeLine } from '../ui';
import { useCoach } from './coach-only';
import { FlagActions } from './flag-actions';
import { type CrisisFlag, type FlagList, formatAge, loadResolvedFlags, type ResolvedFlag } from './flags';
import { formatWhen, reviewPath } from './sessions';

type Shown = 'active' | 'resolved';

/**
 * The top of the coach's dashboard: the crisis flags that need a coach (open ones first, then those
 * being followed up) with the figures (open flags, the oldest one's wait, the median time to acknowledge
 * over 30 days), each with the buttons that move it on; or, on its second tab, the resolved ones.
 */
export function FlagsPanel({ list }: { list: FlagList }) {
  const { figures, flags } = list;
  const [shown, setShown] = useState<Shown>('active');
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
        <div data-testid="figure-median-ack" data-ms={figures.medianAckMs ?? ''} data-count={figures.acknowledgedIn30Days}>
          <dt>Median time to acknowledge, 30 days</dt>
          <dd>{formatAge(figures.medianAckMs)}</dd>
        </div>
      </dl>
      <ChoiceGroup<Shown>
        legend="Crisis flags"
        name="flags-shown"
        choices={[
          { value: 'active', label: `Needs follow-up (${flags.length})` },
          { value: 'resolved', label: 'Resolved' },
        ]}
        value={shown}
        onChange={setShown}
      />
      {shown === 'resolved' ? <ResolvedFlags /> : <ActiveFlags flags={flags} />}
    </section>
  );
}

function ActiveFlags({ flags }: { flags: CrisisFlag[] }) {
  return flags.length === 0 ? (
    <p className="hc-muted">No session is flagged. When a client talks of crisis, it appears here first, and you are alerted at once.</p>
  ) : (
    <ul className="hc-list" aria-label="Flagged sessions">
      {flags.map((f) => (
        <FlagItem key={f.sessionId} flag={f} />
      ))}
    </ul>
  );
}

/** The resolved flags, the most recently resolved first, a page at a time: who resolved each, when, and what was done. */
function ResolvedFlags() {
  const pages = useInfiniteQuery({
    queryKey: ['flags', 'resolved'],
    queryFn: ({ pageParam }) => loadResolvedFlags(pageParam || undefined),
    initialPageParam: '',
    getNextPageParam: (last) => last.nextCursor ?? undefined,
  });
  if (pages.data === undefined) return <NoticeLine text={pages.isError ? 'The resolved flags did not load. Try again.' : 'Loading the resolved flags…'} />;
  const items = pages.data.pages.flatMap((p) => p.items);
  return (
    <div className="hc-stack" data-testid="resolved-flags">
      {items.length === 0 ? (
        <p className="hc-muted">No flag has been resolved yet.</p>
      ) : (
        <ul className="hc-list" aria-label="Resolved flags">
          {items.map((f) => (
            <ResolvedItem key={f.sessionId} flag={f} />
          ))}
        </ul>
      )}
      {pages.hasNextPage && (
        <Button variant="secondary" onClick={() => void pages.fetchNextPage()} busy={pages.isFetchingNextPage} busyLabel="Loading…">
          Show more
        </Button>
      )}
      <NoticeLine text={pages.isFetchNextPageError ? 'The next page did not load. Try again.' : null} />
    </div>
  );
}

function ResolvedItem({ flag: f }: { flag: ResolvedFlag }) {
  return (
    <li data-testid="resolved-flag" data-session-id={f.sessionId}>
      <div className="hc-row hc-row-between">
        <FlagTitle flag={f} />
        <span className="hc-badge">Resolved</span>
      </div>
      <p className="hc-muted hc-small hc-tight">
        Resolved by {f.resolvedBy?.name ?? 'a former member of staff'} · {formatWhen(f.resolvedAt)}
      </p>
      <p className="hc-flag-reason">{f.reason}</p>
      {f.resolutionNote === null ? (
        <p className="hc-muted hc-small">What was done is for the client’s coaches and admins.</p>
      ) : (
        <p data-testid="resolution-note">{f.resolutionNote}</p>
      )}
      <FlagActions flag={f} />
    </li>
  );
}

/** The client and when the flag was raised, a link to the session when the reader may read it. */
function FlagTitle({ flag: f }: { flag: Pick<CrisisFlag, 'sessionId' | 'clientName' | 'raisedAt' | 'mayReadTranscript'> }) {
  const title = (
    <>
      <strong>{f.clientName}</strong> · {formatWhen(f.raisedAt)}
    </>
  );
  return f.mayReadTranscript ? <Link to={reviewPath(f.sessionId)}>{title}</Link> : <span>{title}</span>;
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
        <FlagTitle flag={f} />
        <FlagStateBadge flag={f} />
      </div>
      <p className="hc-flag-reason">{f.reason}</p>
      {!f.mayReadTranscript && <p className="hc-muted hc-small">Acknowledge it to read the session’s transcript.</p>}
      <FlagActions flag={f} />
    </li>
  );
}
