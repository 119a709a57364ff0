import { useQuery } from '@tanstack/react-query';
import { Link, useParams } from 'react-router';
import { api, call } from '../api/client';
import { publicPricingUrl } from '../api/config';
import { sessionQuery } from '../shared/queries';
import { Pending } from '../shared/query';
import { Alert, EmptyState, formatDate, formatDuration } from '../ui';

const loadSessions = async () => (await call(api.api.sessions.$get({ query: {} }))).filter((s) => s.status === 'COMPLETED' && s.startedAt !== null);

/** What a FREE client sees instead of the full report: the server sends no more than the teaser. */
function UpgradeNote() {
  return (
    <Alert tone="info" title="Full reports come with Vagus Member and Premium">
      <p>
        You are seeing a short teaser. <a href={publicPricingUrl}>Upgrade your plan</a> to read every summary and transcript in full.
      </p>
    </Alert>
  );
}

/** Finished sessions with their AI summaries (full, or a teaser on the FREE plan). */
export function ReportsPage() {
  const load = useQuery({ queryKey: ['sessions', 'reports'], queryFn: loadSessions });
  if (load.data === undefined) return <Pending query={load} label="Loading your reports…" what="your reports" />;
  const sessions = load.data;
  return (
    <div className="hc-stack">
      <h1>Reports</h1>
      {sessions.some((s) => s.reportAccess === 'teaser') && <UpgradeNote />}
      <section className="hc-card" aria-label="Session reports">
        {sessions.length === 0 ? (
          <EmptyState title="No reports yet">
            <p>After each session, its summary and transcript appear here.</p>
          </EmptyState>
        ) : (
          <ul className="hc-list">
            {sessions.map((s) => (
              <li key={s.id} data-testid="report" data-access={s.reportAccess}>
                <div className="hc-row hc-row-between">
                  <strong>{formatDate(s.startedAt ?? s.createdAt)}</strong>
                  <span className="hc-muted">{formatDuration(s.durationSeconds)}</span>
                </div>
                <p>{s.aiSummary ?? <span className="hc-muted">The summary of this session is not ready yet.</span>}</p>
                <Link to={`/reports/${encodeURIComponent(s.id)}`}>{s.reportAccess === 'full' ? 'Read the full report' : 'Open the teaser'}</Link>
              </li>
            ))}
          </ul>
        )}
      </section>
    </div>
  );
}

const ROLE_LABEL = { client: 'You', coach: 'Coach', ai: 'AI coach' } as const;

/** One session's report: the summary and the transcript (FREE: the teaser and how many lines there are). */
export function ReportPage() {
  const { sessionId = '' } = useParams();
  const load = useQuery(sessionQuery(sessionId));
  if (load.data === undefined) return <Pending query={load} label="Loading the report…" what="this report" />;
  const s = load.data;
  return (
    <div className="hc-stack">
      <p>
        <Link to="/reports">← All reports</Link>
      </p>
      <h1>Session of {formatDate(s.startedAt ?? s.createdAt)}</h1>
      <p className="hc-muted">{formatDuration(s.durationSeconds)}</p>
      {s.reportAccess === 'teaser' && <UpgradeNote />}
      <section className="hc-card hc-stack" aria-labelledby="summary-title">
        <h2 id="summary-title">Summary</h2>
        <p data-testid="report-summary">{s.aiSummary ?? <span className="hc-muted">No summary for this session yet.</span>}</p>
      </section>
      <section className="hc-card hc-stack" aria-labelledby="transcript-title">
        <h2 id="transcript-title">Transcript</h2>
        {s.reportAccess === 'teaser' ? (
          <p className="hc-muted">
            {s.transcriptLineCount} line{s.transcriptLineCount === 1 ? '' : 's'} recorded. Upgrade to read them.
          </p>
        ) : s.transcript.length === 0 ? (
          <EmptyState title="No transcript for this session" />
        ) : (
          <div className="hc-transcript" data-testid="report-transcript">
            {s.transcript.map((l) => (
              <p key={l.id}>
                <span className="hc-speaker">{ROLE_LABEL[l.speakerRole]}:</span>
                {l.text}
              </p>
            ))}
          </div>
        )}
      </section>
    </div>
  );
}
