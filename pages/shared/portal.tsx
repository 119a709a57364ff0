import { QueryClientProvider } from '@tanstack/react-query';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { createBrowserRouter, Link, Navigate, type RouteObject, RouterProvider, useRouteError } from 'react-router';
import { Button, EmptyState, ErrorState, Layout, type NavItem } from '../ui';
import { AuthCallbackPage, type SignInRule } from './auth-callback-page';
import { queryClient } from './query';
import { SignOutButton } from './sign-out-button';

/** What makes a portal itself; everything else (frame, sign-in callback, errors, data cache) is shared. */
export interface PortalSpec {
  nav: NavItem[];
  routes: RouteObject[];
  /**
   * A signed-in portal (client, coach): home is /dashboard, the header has "Sign out", and
   * /auth/callback takes the grant of the public sign-in (`rule`: who belongs here, if not everyone).
   */
  signedIn?: { rule?: SignInRule };
}

/** The router of a portal: its pages in the shared frame, with the sign-in callback and a not-found page. */
export function portalRoutes({ nav, routes, signedIn }: PortalSpec): RouteObject[] {
  const home = signedIn ? '/dashboard' : '/';
  return [
    {
      element: <Layout nav={nav} home={home} actions={signedIn && <SignOutButton />} />,
      errorElement: <RouteError />,
      children: [
        ...(signedIn
          ? [
              { index: true, element: <Navigate to="/dashboard" replace /> },
              { path: 'auth/callback', element: <AuthCallbackPage rule={signedIn.rule} /> },
            ]
          : []),
        ...routes,
        { path: '*', element: <NotFoundPage home={home} /> },
      ],
    },
  ];
}

/** Mounts a portal into index.html's #root. */
export function startPortal(spec: PortalSpec): void {
  const root = document.getElementById('root');
  if (!root) throw new Error('index.html has no #root');
  const router = createBrowserRouter(portalRoutes(spec));
  createRoot(root).render(
    <StrictMode>
      <QueryClientProvider client={queryClient}>
        <RouterProvider router={router} />
      </QueryClientProvider>
    </StrictMode>,
  );
}

function NotFoundPage({ home }: { home: string }) {
  return (
    <EmptyState title="This page does not exist">
      <Link to={home}>{home === '/' ? 'Back to the home page' : 'Back to your dashboard'}</Link>
    </EmptyState>
  );
}

/** A page that threw while rendering: said in place of a blank screen, with a reload. */
function RouteError() {
  const error = useRouteError();
  console.error(error);
  return (
    <ErrorState
      message="This page stopped working. Reload it to carry on."
      action={
        <Button variant="secondary" onClick={() => window.location.reload()}>
          Reload the page
        </Button>
      }
    />
  );
}
