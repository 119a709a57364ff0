import { Navigate } from 'react-router';
import { clientDashboardUrl } from '../api/config';
import { lazyCallRoute } from '../shared/call-route';
import { startPortal } from '../shared/portal';
import { AdminOnly } from './admin/admin-only';
import { AuditPage } from './admin/audit-page';
import { LatencyPage } from './admin/latency-page';
import { PeoplePage } from './admin/people-page';
import { PersonPage } from './admin/person-page';
import { SyncPage } from './admin/sync-page';
import { SyncRunPage } from './admin/sync-run-page';
import { CalendarPage } from './calendar-page';
import { ClientPage, ClientsPage } from './clients-page';
import './coach.css';
import { CoachOnly } from './coach-only';
import { DashboardPage } from './dashboard-page';
import { isCoachLike } from './me';
import { SearchPage } from './search-page';
import { SessionPage } from './session-page';
import { SettingsPage } from './settings-page';

const callPage = lazyCallRoute(() => import('./call/coach-call-room'), 'Opening the call room…');

/**
 * The coach portal: coaches and admins only (a client is sent to their own portal): the dashboard, a
 * session's review, the clients (each with the client data sidebar), the calendar (availability and
 * appointments), transcript search, settings and the call room (its LiveKit code loads with that route only);
 * for admins, the Admin section (people and the actions on an account, the audit log, the Skool sync, the AI's latency per day).
 */
startPortal({
  nav: [
    { to: '/dashboard', label: 'Dashboard' },
    { to: '/clients', label: 'Clients' },
    { to: '/calendar', label: 'Calendar' },
    { to: '/search', label: 'Search transcripts' },
    { to: '/settings', label: 'Settings' },
  ],
  adminNav: [{ to: '/admin', label: 'Admin' }],
  signedIn: { rule: { accepts: isCoachLike, elsewhere: clientDashboardUrl } },
  routes: [
    {
      element: <CoachOnly />,
      children: [
        { path: 'dashboard', element: <DashboardPage /> },
        { path: 'sessions/:sessionId', element: <SessionPage /> },
        { path: 'clients', element: <ClientsPage /> },
        { path: 'clients/:clientId', element: <ClientPage /> },
        { path: 'calendar', element: <CalendarPage /> },
        { path: 'search', element: <SearchPage /> },
        { path: 'settings', element: <SettingsPage /> },
        { path: 'call/:sessionId', element: callPage },
        {
          path: 'admin',
          element: <AdminOnly />,
          children: [
            { index: true, element: <Navigate to="/admin/people" replace /> },
            { path: 'people', element: <PeoplePage /> },
            { path: 'people/:personId', element: <PersonPage /> },
            { path: 'audit', element: <AuditPage /> },
            { path: 'latency', element: <LatencyPage /> },
            { path: 'sync', element: <SyncPage /> },
            { path: 'sync/:runId', element: <SyncRunPage /> },
          ],
        },
      ],
    },
  ],
});
