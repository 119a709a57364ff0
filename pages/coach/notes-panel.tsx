import { useQuery, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, type ReactNode, useId, useState } from 'react';
import { api, call } from '../api/client';
import { useAction } from '../shared/action';
import { Pending } from '../shared/query';
import { Alert, Button, TextArea } from '../ui';
import { formatWhen } from './sessions';

const loadNotes = (clientId: string, sessionId?: string) =>
  call(api.api.clients[':clientId'].notes.$get({ param: { clientId }, query: sessionId ? { sessionId } : {} }));
type Note = Awaited<ReturnType<typeof loadNotes>>[number];

/**
 * The coach's private notes on a client: never shown to the client, and given to the AI only when
 * marked "share with the AI". Scope `session` (the review page): the notes on `sessionId`. Scope
 * `client` (the client's page, the call room): every note on the client, new ones on `sessionId` if
 * given; `sessionLabel` says which session a note is on.
 */
export function NotesPanel({
  clientId,
  sessionId,
  scope = 'session',
  sessionLabel,
}: {
  clientId: string;
  sessionId?: string;
  scope?: 'session' | 'client';
  sessionLabel?: (sessionId: string) => ReactNode;
}) {
  const onSession = scope === 'session' ? sessionId : undefined;
  const queryKey = ['notes', clientId, onSession ?? null];
  const load = useQuery({ queryKey, queryFn: () => loadNotes(clientId, onSession) });
  const queries = useQueryClient();
  const setNotes = (change: (notes: Note[]) => Note[]) => queries.setQueryData<Note[]>(queryKey, (prev) => prev && change(prev));
  const [text, setText] = useState('');
  const [shareable, setShareable] = useState(false);
  const titleId = useId();
  const create = useAction(async () => {
    const note = await call(
      api.api.clients[':clientId'].notes.$post({ param: { clientId }, json: { text, shareableWithAi: shareable, ...(sessionId ? { sessionId } : {}) } }),
    );
    setNotes((notes) => [note, ...notes]);
    setText('');
    setShareable(false);
  });
  const share = useAction(async ({ note, shareableWithAi }: { note: Note; shareableWithAi: boolean }) => {
    const saved = await call(api.api.notes[':id'].$patch({ param: { id: note.id }, json: { shareableWithAi } }));
    setNotes((notes) => notes.map((n) => (n.id === saved.id ? saved : n)));
  });
  // One line of trouble for the panel: whichever change was tried last.
  const error = create.error ?? share.error;

  if (load.data === undefined) return <Pending query={load} label="Loading your notes…" what="your notes" />;
  const notes = load.data;

  function add(e: FormEvent) {
    e.preventDefault();
    share.clear();
    if (!text.trim()) create.refuse('Write the note first.');
    else create.run();
  }

  function setShare(note: Note, shareableWithAi: boolean) {
    create.clear();
    share.run({ note, shareableWithAi });
  }

  const newLabel = scope === 'session' ? 'New note on this session' : sessionId ? 'New note (on this session)' : 'New note on this client';
  return (
    <section className="hc-card hc-stack" aria-labelledby={titleId} data-testid={scope === 'session' ? 'session-notes' : 'client-notes'}>
      <h2 id={titleId}>Your private notes</h2>
      <p className="hc-muted hc-small">Only you see these. The AI is given a note only if you share it.</p>
      <form className="hc-stack" onSubmit={add} noValidate>
        <TextArea label={newLabel} name="note" value={text} onChange={(e) => setText(e.target.value)} maxLength={5000} />
        <label className="hc-check">
          <input type="checkbox" name="shareableWithAi" checked={shareable} onChange={(e) => setShareable(e.target.checked)} />
          Share with the AI
        </label>
        {error && <Alert>{error}</Alert>}
        <div>
          <Button type="submit" busy={create.busy} busyLabel={'Saving…'}>
            Add note
          </Button>
        </div>
      </form>
      {notes.length === 0 ? (
        <p className="hc-muted">{scope === 'session' ? 'No notes on this session yet.' : 'No notes on this client yet.'}</p>
      ) : (
        <ul className="hc-list" aria-label="Notes">
          {notes.map((n) => (
            <li key={n.id} data-testid="note" data-note-id={n.id} data-shareable={String(n.shareableWithAi)}>
              <p className="hc-pre">{n.text}</p>
              <div className="hc-row hc-row-between hc-small">
                <span className="hc-muted">
                  {formatWhen(n.createdAt)}
                  {scope === 'client' && n.sessionId && sessionLabel && <> · {sessionLabel(n.sessionId)}</>}
                </span>
                <label className="hc-check">
                  <input type="checkbox" checked={n.shareableWithAi} onChange={(e) => setShare(n, e.target.checked)} />
                  {n.shareableWithAi ? 'Shared with the AI' : 'Share with the AI'}
                </label>
              </div>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
