import { Navigate, createBrowserRouter } from 'react-router';
import { Layout } from '../ui';
import { SignOutButton } from '../shared/sign-out-button';
import { AuthCallbackPage } from './auth-callback-page';
import { CalendarPage } from './calendar-page';
import { CallPage } from './call-page';
import { CoachOnly } from './coach-only';
import { DashboardPage } from './dashboard-page';
import { NotFoundPage } from './not-found-page';
import { SearchPage } from './search-page';
import { SessionPage } from './session-page';

const NAV = [
  { to: '/dashboard', label: 'Dashboard' },
  { to: '/calendar', label: 'Calendar' },
  { to: '/search', label: 'Search transcripts' },
];

/**
 * The coach portal: sign-in callback, then (coaches and admins only; a client is sent to their own
 * portal) the dashboard, a session's review, the calendar (availability and appointments), transcript search and the call room (its LiveKit code
 * loads with that route only).
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
          { path: 'calendar', element: <CalendarPage /> },
          { path: 'search', element: <SearchPage /> },
          { path: 'call/:sessionId', element: <CallPage /> },
          { path: '*', element: <NotFoundPage /> },
        ],
      },
    ],
  },
]);
