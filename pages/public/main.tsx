import { startPortal } from '../shared/portal';
import { HomePage } from './home-page';
import { LoginPage } from './login-page';
import { PricingPage } from './pricing-page';

/** The public site: what Hybrid Coach is, its plans, and the one sign-in for every portal. */
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
  ],
});
