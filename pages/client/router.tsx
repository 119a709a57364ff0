import { Navigate, createBrowserRouter } from 'react-router';
import { Layout } from '../ui';
import { AuthCallbackPage } from './auth-callback-page';
import { CallPage } from './call-page';
import { DashboardPage } from './dashboard-page';
import { NotFoundPage } from './not-found-page';
import { SignOutButton } from './sign-out-button';

const NAV = [{ to: '/dashboard', label: 'Dashboard' }];

/** The client portal: sign-in callback, dashboard, and the call route. */
export const router = createBrowserRouter([
  {
    element: <Layout nav={NAV} home="/dashboard" actions={<SignOutButton />} />,
    children: [
      { index: true, element: <Navigate to="/dashboard" replace /> },
      { path: 'auth/callback', element: <AuthCallbackPage /> },
      { path: 'dashboard', element: <DashboardPage /> },
      { path: 'call/:sessionId', element: <CallPage /> },
      { path: '*', element: <NotFoundPage /> },
    ],
  },
]);
