import type { ReactNode } from 'react';
import { NavLink, Outlet } from 'react-router';
import { publicPrivacyUrl } from '../api/config';

export interface NavItem {
  to: string;
  label: string;
}

/** The page frame of every portal: skip link, header with the portal's navigation, main, footer. */
export function Layout({ nav, home = '/', actions, children }: { nav: NavItem[]; home?: string; actions?: ReactNode; children?: ReactNode }) {
  return (
    <>
      <a className="hc-skip" href="#main">
        Skip to content
      </a>
      <header className="hc-header">
        <div className="hc-header-inner">
          <NavLink to={home} className="hc-brand">
            <span className="hc-brand-dot" aria-hidden="true" />
            Hybrid Coach
          </NavLink>
          <nav aria-label="Main" className="hc-nav">
            {/* A section stays marked on its own pages (Clients on /clients/:id); Home only on itself. */}
            {nav.map((item) => (
              <NavLink key={item.to} to={item.to} end={item.to === '/'}>
                {item.label}
              </NavLink>
            ))}
            {actions}
          </nav>
        </div>
      </header>
      <main id="main" className="hc-main" tabIndex={-1}>
        {children ?? <Outlet />}
      </main>
      <footer className="hc-footer">
        <div className="hc-footer-inner">
          Hybrid Coach · voice coaching for a calmer nervous system · <a href={publicPrivacyUrl}>Privacy</a>
        </div>
      </footer>
    </>
  );
}
