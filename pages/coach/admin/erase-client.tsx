import { useState } from 'react';
import { useNavigate } from 'react-router';
import { ApiError, api, call } from '../../api/client';
import { useAction } from '../../shared/action';
import { Button, ConfirmDialog, NoticeLine, TextArea } from '../../ui';
import type { Person } from './admin-api';

/**
 * People › a client › Erase (issue 17): the same erasure as the end of a client's deletion grace period,
 * at once, with a reason kept in the audit log. Clients only (the API refuses staff with 409).
 */
export function EraseClient({ person: p }: { person: Person }) {
  const navigate = useNavigate();
  const [asking, setAsking] = useState(false);
  const [reason, setReason] = useState('');
  const erase = useAction(async (why: string) => {
    await call(api.api.admin.people[':id'].erase.$post({ param: { id: p.id }, json: { reason: why } }));
    navigate('/admin/people');
  });
  const reasonError = erase.failure instanceof ApiError ? erase.failure.fields.reason : undefined;
  return (
    <section className="hc-card hc-stack" aria-labelledby="erase-title" data-testid="erase-client">
      <h2 id="erase-title">Erase this client</h2>
      <p className="hc-small">
        Deletes the account and everything about them now: sessions, transcripts, summaries, appointments, notes, consent. Only the audit log (ids and counts)
        and the sessions’ billing counts stay. It cannot be undone.
      </p>
      <div>
        <Button variant="secondary" onClick={() => setAsking(true)}>
          Erase…
        </Button>
      </div>
      <ConfirmDialog
        open={asking}
        title={`Erase ${p.displayName}?`}
        confirmLabel="Erase now"
        busy={erase.busy}
        onConfirm={() => (reason.trim().length < 3 ? erase.refuse('Give the reason: it is kept in the audit log.') : erase.run(reason.trim()))}
        onClose={() => setAsking(false)}
      >
        <TextArea label="Reason" name="eraseReason" value={reason} onChange={(e) => setReason(e.target.value)} maxLength={500} error={reasonError} />
        <NoticeLine tone="error" text={reasonError ? null : erase.error} />
      </ConfirmDialog>
    </section>
  );
}
