import { MEMBERSHIP_TIERS, TIERS } from '@hybrid-coach/shared/tiers';
import { Link } from 'react-router';

/** The plans, from the one tier table the Worker enforces: the page and the server cannot disagree. */
export function PricingPage() {
  return (
    <div className="hc-stack">
      <h1>Plans</h1>
      <p className="hc-muted">Start free. Upgrade when you want more time, reports or a human coach.</p>
      <ul className="hc-grid hc-list" aria-label="Membership plans">
        {MEMBERSHIP_TIERS.map((tier) => {
          const info = TIERS[tier];
          return (
            <li key={tier} className={`hc-card hc-price${tier === 'VAGUS_MEMBER' ? ' hc-price-featured' : ''}`}>
              <h2>{info.name}</h2>
              <p className="hc-muted">{info.summary}</p>
              <ul>
                {info.features.map((f) => (
                  <li key={f}>{f}</li>
                ))}
              </ul>
            </li>
          );
        })}
      </ul>
      <p>
        Already a member? <Link to="/login">Sign in</Link>. Your plan follows your Vagus Skool membership.
      </p>
    </div>
  );
}
