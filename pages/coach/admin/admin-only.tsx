import { NavLink, Outlet, useOutletContext } from 'react-router';
import { EmptyState } from '../../ui';
import { useCoach } from '../coach-only';

/**
 * The Admin section's frame, inside CoachOnly: admins get its pages under a small section menu; a coach
 * who follows a link here is told it is not for them (the API refuses them anyway).
 */
export function AdminOnly() {
  const me = useCoach();
  // The pages below read the coach (useCoach) from CoachOnly's context: handed on through this outlet.
  const coachContext = useOutletContext();
  if (me.role !== 'ADMIN') {
    return (
      <EmptyState title="This section is for admins">
        <p>Ask an admin if you need something changed on an account.</p>
      </EmptyState>
    );
  }
  return (
    <div className="hc-stack">
      <nav aria-label="Admin" className="hc-nav hc-subnav">
        <NavLink to="/admin/people">People</NavLink>
        <NavLink to="/admin/audit">Audit log</NavLink>
        <NavLink to="/admin/sync">Skool sync</NavLink>
        <NavLink to="/admin/latency">AI latency</NavLink>
      </nav>
      <Outlet context={coachContext} />
    </div>
  );
}
