import { Navigate, createBrowserRouter } from 'react-router';
import { Layout } from '../ui';
import { AuthCallbackPage } from './auth-callback-page';
import { BookingPage } from './booking-page';
import { CallPage } from './call-page';
import { DashboardPage } from './dashboard-page';
import { NotFoundPage } from './not-found-page';
import { OnboardingPage } from './onboarding-page';
import { RatePage } from './rate-page';
import { ReportPage, ReportsPage } from './reports-page';
import { SettingsPage } from './settings-page';
import { SignOutButton } from '../shared/sign-out-button';

const NAV = [
  { to: '/dashboard', label: 'Dashboard' },
  { to: '/book', label: 'Book a coach' },
  { to: '/reports', label: 'Reports' },
  { to: '/settings', label: 'Settings' },
];

/**
 * The client portal: sign-in callback, onboarding, dashboard, the call (its LiveKit code loads with
 * that route only, see call-page.tsx), rating after a call, booking a human coach, reports and settings.
 */
export const router = createBrowserRouter([
  {
    element: <Layout nav={NAV} home="/dashboard" actions={<SignOutButton />} />,
    children: [
      { index: true, element: <Navigate to="/dashboard" replace /> },
      { path: 'auth/callback', element: <AuthCallbackPage /> },
      { path: 'onboarding', element: <OnboardingPage /> },
      { path: 'dashboard', element: <DashboardPage /> },
      { path: 'call/:sessionId', element: <CallPage /> },
      { path: 'sessions/:sessionId/rate', element: <RatePage /> },
      { path: 'book', element: <BookingPage /> },
      { path: 'reports', element: <ReportsPage /> },
      { path: 'reports/:sessionId', element: <ReportPage /> },
      { path: 'settings', element: <SettingsPage /> },
      { path: '*', element: <NotFoundPage /> },
    ],
  },
]);
