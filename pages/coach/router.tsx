import { Navigate, createBrowserRouter } from 'react-router';
import { Layout } from '../ui';
import { SignOutButton } from '../shared/sign-out-button';
import { AuthCallbackPage } from './auth-callback-page';
import { CalendarPage } from './calendar-page';
import { CallPage } from './call-page';
import { ClientPage, ClientsPage } from './clients-page';
import { CoachOnly } from './coach-only';
import { DashboardPage } from './dashboard-page';
import { NotFoundPage } from './not-found-page';
import { SearchPage } from './search-page';
import { SessionPage } from './session-page';
import { SettingsPage } from './settings-page';

const NAV = [
  { to: '/dashboard', label: 'Dashboard' },
  { to: '/clients', label: 'Clients' },
  { to: '/calendar', label: 'Calendar' },
  { to: '/search', label: 'Search transcripts' },
  { to: '/settings', label: 'Settings' },
];

/**
 * The coach portal: sign-in callback, then (coaches and admins only; a client is sent to their own
 * portal) the dashboard, a session's review, the clients (each with the client data sidebar), the
 * calendar (availability and appointments), transcript search, settings and the call room (its
 * LiveKit code loads with that route only).
 */
export const router = createBrowserRouter([
  {
    element: <Layout nav={NAV} home="/dashboard" actions={<SignOutButton />} />,
    children: [
      { index: true, element: <Navigate to="/dashboard" replace /> },
      { path: 'auth/callback', element: <AuthCallbackPage /> },
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
          { path: 'call/:sessionId', element: <CallPage /> },
          { path: '*', element: <NotFoundPage /> },
        ],
      },
    ],
  },
]);
