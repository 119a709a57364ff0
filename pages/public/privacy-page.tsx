import { Link } from 'react-router';
import { ConsentText } from '../shared/consent-text';

/** What is recorded and for how long: the same words a client agrees to before their first session. */
export function PrivacyPage() {
  return (
    <section className="hc-card hc-stack hc-medium" aria-labelledby="privacy-title">
      <p className="hc-muted">Privacy</p>
      <ConsentText headingId="privacy-title" level="h1" />
      <p>
        Before your first session the client portal shows you these same points and asks you to agree. When they change, it asks you again before your next
        session.
      </p>
      <p>
        <Link to="/login">Sign in</Link>
      </p>
    </section>
  );
}
