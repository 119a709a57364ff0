import { lazyCallRoute } from '../shared/call-route';
import { startPortal } from '../shared/portal';
import { BookingPage } from './booking-page';
import { DashboardPage } from './dashboard-page';
import { OnboardingPage } from './onboarding-page';
import { RatePage } from './rate-page';
import { ReportPage, ReportsPage } from './reports-page';
import { SettingsPage } from './settings-page';

const callPage = lazyCallRoute(() => import('./call/call-room'), 'Opening your call room…');

/**
 * The client portal: onboarding, dashboard, the call (its LiveKit code loads with that route only),
 * rating after a call, booking a human coach, reports and settings.
 */
startPortal({
  nav: [
    { to: '/dashboard', label: 'Dashboard' },
    { to: '/book', label: 'Book a coach' },
    { to: '/reports', label: 'Reports' },
    { to: '/settings', label: 'Settings' },
  ],
  signedIn: {},
  routes: [
    { path: 'onboarding', element: <OnboardingPage /> },
    { path: 'dashboard', element: <DashboardPage /> },
    { path: 'call/:sessionId', element: callPage },
    { path: 'sessions/:sessionId/rate', element: <RatePage /> },
    { path: 'book', element: <BookingPage /> },
    { path: 'reports', element: <ReportsPage /> },
    { path: 'reports/:sessionId', element: <ReportPage /> },
    { path: 'settings', element: <SettingsPage /> },
  ],
});
