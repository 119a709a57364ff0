import { useQuery } from '@tanstack/react-query';
import { useSearchParams } from 'react-router';
import { Pending } from '../../shared/query';
import { EmptyState, SelectField } from '../../ui';
import { type LatencyDay, loadLatency } from './admin-api';

/** Issue 18's target: the client's last word → the AI's first audio, p50. A day whose median session is slower is marked. */
const TARGET_P50_MS = 800;
const WINDOWS = [7, 14, 30, 90].map((d) => ({ value: String(d), label: `Last ${d} days` }));

const msText = (ms: number | null) => (ms === null ? '—' : `${ms.toLocaleString()} ms`);

/**
 * `/admin/latency`: how fast the AI coach answered, per UTC day, newest first (the sessions' own p50s and
 * the worst reply, stage by stage), so an operator sees a slow day and which stage made it slow.
 */
export function LatencyPage() {
  const [params, setParams] = useSearchParams();
  const days = Number(params.get('days') ?? 14);
  const load = useQuery({ queryKey: ['admin-agent-latency', days], queryFn: () => loadLatency({ days: String(days) }) });
  return (
    <div className="hc-stack">
      <h1>AI latency</h1>
      <p className="hc-muted">
        From the client's last word to the AI's first audio, per session, measured by the agent. A day is marked slow when its median session took longer than{' '}
        {TARGET_P50_MS} ms. Times only: nothing of what was said.
      </p>
      <form className="hc-card hc-filters" aria-label="Days shown">
        <SelectField label="Days (UTC)" name="days" value={String(days)} options={WINDOWS} onChange={(e) => setParams({ days: e.target.value })} />
      </form>
      {load.data === undefined ? (
        <Pending query={load} label="Loading the AI's timings…" what="the AI's timings" />
      ) : load.data.days.length === 0 ? (
        <EmptyState title="No sessions measured">
          <p>No session had a reply from the AI in these days.</p>
        </EmptyState>
      ) : (
        <section className="hc-card hc-stack" aria-label="Days, newest first" data-testid="latency">
          <div className="hc-table-wrap">
            <table className="hc-table">
              <thead>
                <tr>
                  <th scope="col">Day (UTC)</th>
                  <th scope="col">Sessions</th>
                  <th scope="col">Median p50</th>
                  <th scope="col">Worst</th>
                </tr>
              </thead>
              <tbody>
                {load.data.days.map((d) => (
                  <DayRow key={d.day} d={d} />
                ))}
              </tbody>
            </table>
          </div>
        </section>
      )}
    </div>
  );
}

function DayRow({ d }: { d: LatencyDay }) {
  const slow = d.p50.totalMs !== null && d.p50.totalMs > TARGET_P50_MS;
  return (
    <tr data-testid="latency-day" data-day={d.day} data-slow={slow}>
      <th scope="row">
        {d.day} {slow && <span className="hc-badge">Slow</span>}
      </th>
      <td>
        <span data-field="sessions">{d.sessions}</span>
        <span className="hc-block hc-small hc-muted">
          <span data-field="turns">{d.turns}</span> replies
        </span>
      </td>
      <td>
        <span data-field="p50">{msText(d.p50.totalMs)}</span>
        {/* Which stage made a slow day slow: the median p50 of each. */}
        <span className="hc-block hc-small hc-muted" data-field="stages">
          turn end {msText(d.p50.endOfUtteranceMs)} · model {msText(d.p50.llmFirstTokenMs)} · voice {msText(d.p50.ttsFirstByteMs)}
        </span>
      </td>
      <td data-field="worst">{msText(d.worst.totalMs)}</td>
    </tr>
  );
}
