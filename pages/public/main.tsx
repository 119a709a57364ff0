import { startPortal } from '../shared/portal';
import { ClaimPage } from './claim-page';
import { HomePage } from './home-page';
import { LoginPage } from './login-page';
import { PricingPage } from './pricing-page';
import { PrivacyPage } from './privacy-page';
import { ResetPage } from './reset-page';

/** The public site: what Hybrid Coach is, its plans, the one sign-in for every portal, and the pages of the account emails' links. */
startPortal({
  nav: [
    { to: '/', label: 'Home' },
    { to: '/pricing', label: 'Pricing' },
    { to: '/login', label: 'Sign in' },
  ],
  routes: [
    { index: true, element: <HomePage /> },
    { path: 'pricing', element: <PricingPage /> },
    { path: 'login', element: <LoginPage /> },
    // Linked from every footer and the sign-in page.
    { path: 'privacy', element: <PrivacyPage /> },
    // From the account emails' links; no navigation entry.
    { path: 'claim', element: <ClaimPage /> },
    { path: 'reset', element: <ResetPage /> },
  ],
});
