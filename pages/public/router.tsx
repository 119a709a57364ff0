import { createBrowserRouter } from 'react-router';
import { Layout } from '../ui';
import { HomePage } from './home-page';
import { LoginPage } from './login-page';
import { NotFoundPage } from './not-found-page';
import { PricingPage } from './pricing-page';

const NAV = [
  { to: '/', label: 'Home' },
  { to: '/pricing', label: 'Pricing' },
  { to: '/login', label: 'Sign in' },
];

/** The public site: what Hybrid Coach is, its plans, and the one sign-in for every portal. */
export const router = createBrowserRouter([
  {
    element: <Layout nav={NAV} />,
    children: [
      { index: true, element: <HomePage /> },
      { path: 'pricing', element: <PricingPage /> },
      { path: 'login', element: <LoginPage /> },
      { path: '*', element: <NotFoundPage /> },
    ],
  },
]);
