import { QueryClientProvider, useQuery } from '@tanstack/react-query';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { createBrowserRouter, Link, Navigate, type RouteObject, RouterProvider, useRouteError } from 'react-router';
import { Button, EmptyState, ErrorState, Layout, type NavItem } from '../ui';
import { AuthCallbackPage, type SignInRule } from './auth-callback-page';
import { meQuery } from './queries';
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
  /** Shown after `nav` to a signed-in admin only (the coach portal's Admin section). */
  adminNav?: NavItem[];
}

/** The router of a portal: its pages in the shared frame, with the sign-in callback and a not-found page. */
export function portalRoutes({ nav, routes, signedIn, adminNav }: PortalSpec): RouteObject[] {
  const home = signedIn ? '/dashboard' : '/';
  return [
    {
      element: <Frame nav={nav} adminNav={adminNav} home={home} signedIn={Boolean(signedIn)} />,
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

/** The shared frame; `adminNav` joins the navigation once a page has read the signed-in user and it is an admin. */
function Frame({ nav, adminNav, home, signedIn }: { nav: NavItem[]; adminNav?: NavItem[]; home: string; signedIn: boolean }) {
  // Never fetched for the frame (the sign-in callback has no session yet): what the pages read, kept in sync.
  const me = useQuery({ ...meQuery, enabled: false });
  const items = adminNav && me.data?.role === 'ADMIN' ? [...nav, ...adminNav] : nav;
  return <Layout nav={items} home={home} actions={signedIn && <SignOutButton />} />;
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
