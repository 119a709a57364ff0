import { useQuery } from '@tanstack/react-query';
import { FlagActions } from './flag-actions';
import { flagQuery } from './flags';
import { FlagStateBadge } from './flags-panel';
import { formatWhen } from './sessions';

const DID: Record<string, string> = { raise: 'Flagged', acknowledge: 'Acknowledged', resolve: 'Resolved', reopen: 'Reopened' };

/**
 * A flagged session's flag on its review page: why it was raised, who has it, the buttons that move it on,
 * and its history (who did what, when, with the notes).
 */
export function SessionFlag({ sessionId, flag }: { sessionId: string; flag: { at: string; reason: string } }) {
  const load = useQuery(flagQuery(sessionId));
  const detail = load.data;
  return (
    <div className="hc-alert hc-alert-error hc-stack" role="status" data-testid="session-flag">
      <p className="hc-row hc-row-between">
        <span>
          <strong>Flagged for follow-up:</strong> {flag.reason} ({formatWhen(flag.at)})
        </span>
        {detail && <FlagStateBadge flag={detail} />}
      </p>
      {detail && (
        <>
          <FlagActions flag={detail} />
          <ol className="hc-small hc-flag-history" aria-label="What happened to this flag" data-testid="flag-history">
            {detail.events.map((e) => (
              <li key={`${e.action}-${e.at}`}>
                {DID[e.action]} {e.actor ? `by ${e.actor.name}` : 'by the system'}, {formatWhen(e.at)}
                {e.note && <>: “{e.note}”</>}
              </li>
            ))}
          </ol>
        </>
      )}
    </div>
  );
}
