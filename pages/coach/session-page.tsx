import { useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { Link, useParams } from 'react-router';
import { type SessionDetail, sessionQuery } from '../shared/queries';
import { Pending } from '../shared/query';
import { EmptyState, formatDuration, TextField } from '../ui';
import { clientPath } from './clients';
import { useCoach } from './coach-only';
import { NotesPanel } from './notes-panel';
import { SessionFlag } from './session-flag';
import { formatWhen, type TranscriptLine } from './sessions';

/**
 * A session's review: the whole transcript (speaker labels, a mark on every line the AI did not hear,
 * whispers marked as such), the AI summary, the client's rating and the coach's private notes on it.
 */
export function SessionPage() {
  const { sessionId = '' } = useParams();
  // A new session id is a new page: nothing of the last one's state carries over.
  return <SessionReview key={sessionId} sessionId={sessionId} />;
}

function SessionReview({ sessionId }: { sessionId: string }) {
  const coach = useCoach();
  const load = useQuery(sessionQuery(sessionId));
  if (load.data === undefined) return <Pending query={load} label="Loading the session…" what="this session" />;
  const s = load.data;
  return (
    <div className="hc-stack">
      <p>
        <Link to="/dashboard">← Dashboard</Link>
      </p>
      <h1>
        {/* The client's page is open to the coaches who coach them: this session's coach (admins: anyone). */}
        {s.coachId === coach.id || coach.role === 'ADMIN' ? (
          <Link to={clientPath(s.clientId)} data-testid="session-client-link">
            {s.clientName}
          </Link>
        ) : (
          s.clientName
        )}{' '}
        · {formatWhen(s.startedAt ?? s.createdAt)}
      </h1>
      <p className="hc-row">
        <span className="hc-muted">{s.coachId === coach.id ? 'With you' : s.coachName ? `With ${s.coachName}` : 'With the AI alone'}</span>
        <span className="hc-badge">{s.status.toLowerCase()}</span>
        {s.status === 'COMPLETED' && <span className="hc-muted">{s.startedAt ? formatDuration(s.durationSeconds) : 'ended before it started'}</span>}
        <span className="hc-muted">{s.tierAtStart.replace('_', ' ').toLowerCase()} client</span>
      </p>
      {s.flag && <SessionFlag sessionId={s.id} flag={s.flag} />}
      <div className="hc-review">
        <div className="hc-stack">
          <section className="hc-card" aria-labelledby="summary-title" data-testid="session-summary">
            <h2 id="summary-title">AI summary</h2>
            {s.aiSummary ? <p className="hc-pre">{s.aiSummary}</p> : <p className="hc-muted">No summary for this session yet.</p>}
          </section>
          <Transcript session={s} />
        </div>
        <div className="hc-stack">
          <section className="hc-card" aria-labelledby="rating-title" data-testid="session-rating">
            <h2 id="rating-title">Client’s rating</h2>
            {s.rating ? (
              <>
                <p>
                  <span className="hc-stars" aria-hidden="true">
                    {'★'.repeat(s.rating.rating)}
                    {'☆'.repeat(5 - s.rating.rating)}
                  </span>{' '}
                  {s.rating.rating} of 5{s.rating.tip ? ` · $${s.rating.tip} tip` : ''}
                </p>
                {s.rating.comment && <blockquote className="hc-muted">“{s.rating.comment}”</blockquote>}
              </>
            ) : (
              <p className="hc-muted">Not rated.</p>
            )}
          </section>
          <NotesPanel clientId={s.clientId} sessionId={s.id} />
        </div>
      </div>
    </div>
  );
}

const LABELS: Record<TranscriptLine['speakerRole'], string> = { client: 'Client', coach: 'Coach', ai: 'AI coach' };

function Transcript({ session }: { session: SessionDetail }) {
  const coach = useCoach();
  const lines = session.transcript;
  const unheard = lines.filter((l) => !l.heardByAi && l.kind === 'speech').length;
  const [find, setFind] = useState('');
  const needle = find.trim().toLowerCase();
  const matching = needle ? lines.filter((l) => l.text.toLowerCase().includes(needle)).length : 0;
  const label = (l: TranscriptLine) => (l.speakerRole === 'coach' && l.speakerIdentity === coach.id ? 'You' : LABELS[l.speakerRole]);
  return (
    <section className="hc-card" aria-labelledby="transcript-title" data-testid="session-transcript">
      <h2 id="transcript-title">Transcript</h2>
      {lines.length === 0 ? (
        <EmptyState title="No transcript">
          <p>Nothing was said in this session, or the lines have not arrived yet.</p>
        </EmptyState>
      ) : (
        <>
          <p className="hc-muted hc-small">
            {lines.length} line{lines.length === 1 ? '' : 's'}
            {unheard > 0 && ` · ${unheard} the AI did not hear`}. Whispers are your private instructions to the AI; the client never sees them.
          </p>
          <div role="search" className="hc-stack">
            <TextField label="Find in this transcript" name="find" type="search" value={find} onChange={(e) => setFind(e.target.value)} />
            {needle && (
              <p className="hc-small hc-muted" role="status" data-testid="find-count">
                {matching} line{matching === 1 ? '' : 's'} with “{find.trim()}”
              </p>
            )}
          </div>
          <ol className="hc-lines" aria-label="Transcript lines">
            {lines.map((l) => (
              <li key={l.id} className="hc-line" data-testid="transcript-line" data-role={l.speakerRole} data-kind={l.kind} data-heard={String(l.heardByAi)}>
                <div className="hc-line-head">
                  <span className="hc-speaker">{label(l)}</span>
                  <time className="hc-muted" dateTime={l.spokenAt}>
                    {new Date(l.spokenAt).toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit' })}
                  </time>
                  {l.kind === 'whisper' && (
                    <span className="hc-badge hc-badge-whisper" data-testid="whisper-mark">
                      Whisper to the AI
                    </span>
                  )}
                  {l.kind === 'speech' && !l.heardByAi && (
                    <span className="hc-badge hc-badge-unheard" data-testid="not-heard-mark">
                      AI did not hear
                    </span>
                  )}
                </div>
                <p>
                  <Highlighted text={l.text} needle={needle} />
                </p>
              </li>
            ))}
          </ol>
        </>
      )}
    </section>
  );
}

/** The text with every case-insensitive occurrence of `needle` in <mark> (as text, never HTML). */
function Highlighted({ text, needle }: { text: string; needle: string }) {
  if (!needle) return <>{text}</>;
  const parts: { text: string; match: boolean }[] = [];
  const lower = text.toLowerCase();
  let from = 0;
  for (let at = lower.indexOf(needle); at !== -1; at = lower.indexOf(needle, at + needle.length)) {
    if (at > from) parts.push({ text: text.slice(from, at), match: false });
    parts.push({ text: text.slice(at, at + needle.length), match: true });
    from = at + needle.length;
  }
  if (from < text.length) parts.push({ text: text.slice(from), match: false });
  // biome-ignore lint/suspicious/noArrayIndexKey: the pieces of one fixed text, never reordered
  return <>{parts.map((p, i) => (p.match ? <mark key={i}>{p.text}</mark> : <span key={i}>{p.text}</span>))}</>;
}
