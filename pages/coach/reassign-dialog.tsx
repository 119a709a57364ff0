import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useId, useState } from 'react';
import { api, call, messageOf } from '../api/client';
import { Alert, ConfirmDialog, Loading } from '../ui';
import { formatWhen } from './sessions';

const loadOptions = (id: string) => call(api.api.appointments[':id']['reassign-options'].$get({ param: { id } }));
type Option = Awaited<ReturnType<typeof loadOptions>>[number];
const reassign = (id: string, coachId: string) => call(api.api.appointments[':id'].reassign.$post({ param: { id }, json: { coachId } }));
/** An appointment as the API answers it. */
export type ReassignedAppointment = Awaited<ReturnType<typeof reassign>>;

/**
 * "Reassign": the other coaches (from the server, free ones first), a coach with an appointment at
 * that time shown but not choosable, one who does not offer the time marked but choosable; then the
 * appointment goes to the chosen coach. A refusal (409: that coach was booked meanwhile) is shown in
 * the dialog, and the list is read again.
 */
export function ReassignDialog({
  appointment: a,
  open,
  onClose,
  onReassigned,
}: {
  appointment: { id: string; scheduledFor: string; client: { displayName: string } };
  open: boolean;
  onClose: () => void;
  onReassigned: (a: ReassignedAppointment) => void;
}) {
  const queries = useQueryClient();
  const queryKey = ['reassign-options', a.id];
  const load = useQuery({ queryKey, queryFn: () => loadOptions(a.id), enabled: open });
  const options: Option[] | null = load.data ?? null;
  const [picked, setChosen] = useState<string | null>(null);
  // A choice that has become impossible (read again after a refusal) is dropped.
  const chosen = options?.some((o) => o.id === picked && o.free) ? picked : null;
  const [busy, setBusy] = useState(false);
  const [failed, setError] = useState<string | null>(null);
  const error = failed ?? (load.isError ? messageOf(load.error) : null);
  const legendId = useId();

  function close() {
    // Opened again, the dialog reads the coaches afresh.
    queries.removeQueries({ queryKey, exact: true });
    setChosen(null);
    setError(null);
    onClose();
  }

  async function confirm() {
    if (!chosen) {
      setError('Choose the coach to hand this appointment to.');
      return;
    }
    setBusy(true);
    setError(null);
    try {
      const moved = await reassign(a.id, chosen);
      setBusy(false);
      close();
      onReassigned(moved);
    } catch (err) {
      setError(messageOf(err));
      setBusy(false);
      void load.refetch();
    }
  }

  return (
    <ConfirmDialog
      open={open}
      title="Reassign the appointment"
      confirmLabel="Reassign"
      cancelLabel="Keep it"
      busy={busy}
      onConfirm={() => void confirm()}
      onClose={close}
    >
      <p>
        {a.client.displayName}, {formatWhen(a.scheduledFor)}. The client keeps the time; the coach you choose takes the appointment.
      </p>
      {options === null ? (
        !error && <Loading label="Finding the other coaches…" />
      ) : options.length === 0 ? (
        <p className="hc-muted">There is no other coach to hand it to.</p>
      ) : (
        <fieldset className="hc-reassign-options" data-testid="reassign-options" aria-labelledby={legendId}>
          <legend id={legendId}>Hand it to</legend>
          {options.map((o) => {
            const note = !o.free ? 'has an appointment then' : !o.offersThisTime ? 'outside their availability' : null;
            const noteId = `${legendId}-${o.id}`;
            return (
              <label
                key={o.id}
                className="hc-reassign-option"
                data-testid="reassign-option"
                data-coach-id={o.id}
                data-free={o.free}
                data-offers={o.offersThisTime}
              >
                <input
                  type="radio"
                  name="coachId"
                  value={o.id}
                  checked={chosen === o.id}
                  disabled={!o.free || busy}
                  onChange={() => setChosen(o.id)}
                  aria-describedby={note ? noteId : undefined}
                />
                <span>
                  {o.displayName}
                  {note && (
                    <span id={noteId} className="hc-reassign-note">
                      {note}
                    </span>
                  )}
                </span>
              </label>
            );
          })}
        </fieldset>
      )}
      {error && (
        <Alert>
          <span data-testid="reassign-error">{error}</span>
        </Alert>
      )}
    </ConfirmDialog>
  );
}
