import { useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { Link, useParams } from 'react-router';
import { Pending } from '../shared/query';
import { EmptyState, TextField } from '../ui';
import { ClientSidebar } from './client-sidebar';
import { clientPath, loadClients, TIER_LABELS } from './clients';
import { formatWhen } from './sessions';

/** `/clients`: everyone the coach has had a session or an appointment with, by name. */
export function ClientsPage() {
  const load = useQuery({ queryKey: ['clients'], queryFn: loadClients });
  const [find, setFind] = useState('');
  if (load.data === undefined) return <Pending query={load} label="Loading your clients…" what="your clients" />;
  const clients = load.data;
  const needle = find.trim().toLowerCase();
  const shown = needle ? clients.filter((c) => c.displayName.toLowerCase().includes(needle) || c.email.toLowerCase().includes(needle)) : clients;

  return (
    <div className="hc-stack">
      <h1>Clients</h1>
      {clients.length === 0 ? (
        <section className="hc-card" data-testid="clients-empty">
          <EmptyState title="No clients yet">
            <p>A client appears here after their first session with you, or once they book an appointment with you.</p>
          </EmptyState>
        </section>
      ) : (
        <section className="hc-card hc-stack" aria-label="Your clients" data-testid="clients">
          {clients.length > 5 && (
            <div role="search">
              <TextField label="Find a client" name="find" type="search" value={find} onChange={(e) => setFind(e.target.value)} hint="By name or email" />
            </div>
          )}
          {shown.length === 0 ? (
            <p className="hc-muted" role="status">
              No client matches “{find.trim()}”.
            </p>
          ) : (
            <div className="hc-table-wrap">
              <table className="hc-table">
                <thead>
                  <tr>
                    <th scope="col">Name</th>
                    <th scope="col">Tier</th>
                    <th scope="col">Sessions</th>
                    <th scope="col">Last session</th>
                    <th scope="col">Next appointment</th>
                  </tr>
                </thead>
                <tbody>
                  {shown.map((c) => (
                    <tr key={c.id} data-testid="client-row" data-client-id={c.id}>
                      <th scope="row">
                        <Link to={clientPath(c.id)}>{c.displayName}</Link>
                        <span className="hc-muted hc-small hc-block">{c.email}</span>
                      </th>
                      <td>
                        <span className="hc-badge">{TIER_LABELS[c.tier]}</span>
                      </td>
                      <td data-field="sessions">{c.sessionCount}</td>
                      <td>{c.lastSessionAt ? formatWhen(c.lastSessionAt) : <span className="hc-muted">None yet</span>}</td>
                      <td>{c.nextAppointmentAt ? formatWhen(c.nextAppointmentAt) : <span className="hc-muted">None booked</span>}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
        </section>
      )}
    </div>
  );
}

/** `/clients/:clientId`: the client data sidebar in full (profile, sessions with summaries, private notes). */
export function ClientPage() {
  const { clientId = '' } = useParams();
  return (
    <div className="hc-stack">
      <p>
        <Link to="/clients">← Clients</Link>
      </p>
      {/* A new client id is a new page: nothing of the last one's state carries over. */}
      <ClientSidebar key={clientId} clientId={clientId} variant="page" />
    </div>
  );
}
