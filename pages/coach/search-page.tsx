import { useQuery } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import { Link, useSearchParams } from 'react-router';
import { api, call } from '../api/client';
import { Pending } from '../shared/query';
import { Button, EmptyState, TextField } from '../ui';
import { formatWhen, reviewPath } from './sessions';

const searchTranscripts = (q: string) => call(api.api.search.transcripts.$get({ query: { q } }));
type Hit = Awaited<ReturnType<typeof searchTranscripts>>[number];

const SPEAKERS: Record<Hit['speakerRole'], string> = { client: 'Client', coach: 'Coach', ai: 'AI coach' };

/** Full-text search over the transcripts of the coach's own sessions; the query lives in the URL (?q=). */
export function SearchPage() {
  const [params, setParams] = useSearchParams();
  const q = params.get('q')?.trim() ?? '';
  const [draft, setDraft] = useState(q);
  const result = useQuery({ queryKey: ['search', q], queryFn: () => searchTranscripts(q), enabled: q !== '' });
  const hits: Hit[] | undefined = result.data;

  function submit(e: FormEvent) {
    e.preventDefault();
    setParams(draft.trim() ? { q: draft.trim() } : {});
  }

  return (
    <div className="hc-stack">
      <h1>Search transcripts</h1>
      <form className="hc-card hc-search-form" role="search" onSubmit={submit}>
        <TextField label="Words to find" name="q" type="search" value={draft} onChange={(e) => setDraft(e.target.value)} hint="In the sessions you coached" />
        <Button type="submit">Search</Button>
      </form>
      {q !== '' && hits === undefined && <Pending query={result} label="Searching…" what="the results" />}
      {hits !== undefined &&
        (hits.length === 0 ? (
          <EmptyState title={`Nothing found for “${q}”`}>
            <p>Try fewer or other words.</p>
          </EmptyState>
        ) : (
          <section className="hc-card" aria-label="Results" data-testid="search-results">
            <p className="hc-muted" role="status">
              {hits.length} line{hits.length === 1 ? '' : 's'} found
            </p>
            <ul className="hc-list">
              {hits.map((h) => (
                <li key={h.messageId} data-testid="search-hit" data-session-id={h.sessionId}>
                  <div className="hc-row hc-row-between hc-small">
                    <Link to={reviewPath(h.sessionId)}>
                      {h.clientName} · {formatWhen(h.spokenAt)}
                    </Link>
                    <span className="hc-row">
                      <span className="hc-muted">{SPEAKERS[h.speakerRole]}</span>
                      {h.kind === 'whisper' && <span className="hc-badge hc-badge-whisper">Whisper</span>}
                    </span>
                  </div>
                  <p>
                    {/* Pieces, not HTML: what a client said is shown as text, matches in <mark>. */}
                    {h.snippet.map((piece, i) =>
                      // biome-ignore lint/suspicious/noArrayIndexKey: the pieces of one fixed snippet, never reordered
                      piece.match ? <mark key={i}>{piece.text}</mark> : <span key={i}>{piece.text}</span>,
                    )}
                  </p>
                </li>
              ))}
            </ul>
          </section>
        ))}
    </div>
  );
}
