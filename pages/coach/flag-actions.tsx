import { mayChangeFlag, nextFlagState } from '@hybrid-coach/shared/crisis-flags';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useCallback, useState } from 'react';
import { useAction } from '../shared/action';
import { meQuery } from '../shared/queries';
import { Button, NoticeLine, TextArea } from '../ui';
import { acknowledgeFlag, type CrisisFlag, reopenFlag, resolveFlag } from './flags';

/** Everything that shows flags reads again after a change (the dashboard, the lists, one flag's history). */
export function useRefreshFlags(): () => Promise<void> {
  const queries = useQueryClient();
  return useCallback(async () => {
    await Promise.all([queries.invalidateQueries({ queryKey: ['flags'] }), queries.invalidateQueries({ queryKey: ['dashboard'] })]);
  }, [queries]);
}

/**
 * The buttons that move a flag on, only those the signed-in coach may use in its state (the same rules
 * as the Worker: shared/src/crisis-flags.ts): acknowledge an open flag; its owner (or an admin) resolves
 * it with a note of what was done; a resolved flag can be reopened.
 */
export function FlagActions({ flag }: { flag: Pick<CrisisFlag, 'sessionId' | 'state' | 'owner'> }) {
  // Read from the cache CoachOnly fills: the live alert sits beside its outlet, outside useCoach()'s reach.
  const me = useQuery(meQuery).data;
  const refresh = useRefreshFlags();
  const [resolving, setResolving] = useState(false);
  const [note, setNote] = useState('');
  const acknowledge = useAction(async () => {
    await acknowledgeFlag(flag.sessionId);
    await refresh();
  });
  const resolve = useAction(async () => {
    await resolveFlag(flag.sessionId, note.trim());
    setResolving(false);
    setNote('');
    await refresh();
  });
  const reopen = useAction(async () => {
    await reopenFlag(flag.sessionId);
    await refresh();
  });
  const may = (action: 'acknowledge' | 'resolve' | 'reopen') =>
    me !== undefined && nextFlagState(action, flag.state) !== null && mayChangeFlag(action, me, flag.owner?.id ?? null);

  function submit(e: FormEvent) {
    e.preventDefault();
    if (!note.trim()) resolve.refuse('Say briefly what was done.');
    else resolve.run();
  }

  return (
    <div className="hc-stack hc-flag-actions">
      <div className="hc-row">
        {may('acknowledge') && (
          <Button onClick={() => acknowledge.run()} busy={acknowledge.busy} data-testid="flag-acknowledge">
            Acknowledge: I’ll follow up
          </Button>
        )}
        {may('resolve') && !resolving && (
          <Button variant="secondary" onClick={() => setResolving(true)} data-testid="flag-resolve-open">
            Resolve…
          </Button>
        )}
        {may('reopen') && (
          <Button variant="secondary" onClick={() => reopen.run()} busy={reopen.busy} data-testid="flag-reopen">
            Reopen
          </Button>
        )}
      </div>
      {resolving && (
        <form className="hc-stack" onSubmit={submit} data-testid="flag-resolve-form">
          <TextArea
            label="What was done"
            name="resolution"
            hint="A short note for the other coaches: who you reached, how, what comes next."
            value={note}
            maxLength={1000}
            onChange={(e) => setNote(e.target.value)}
            error={resolve.error ?? undefined}
          />
          <div className="hc-row">
            <Button type="submit" busy={resolve.busy} data-testid="flag-resolve">
              Resolve the flag
            </Button>
            <Button variant="secondary" onClick={() => setResolving(false)}>
              Cancel
            </Button>
          </div>
        </form>
      )}
      <NoticeLine text={acknowledge.error ?? reopen.error} />
    </div>
  );
}
