import { Link } from 'react-router';

export function HomePage() {
  return (
    <div className="hc-stack">
      <section className="hc-hero" aria-labelledby="home-title">
        <h1 id="home-title">Voice coaching for a calmer nervous system</h1>
        <p>
          Hybrid Coach pairs you with an AI coach you can talk to any time, trained on vagus-nerve and stress practices, and with human coaches who can join
          your sessions when you want more.
        </p>
        <div className="hc-row">
          <Link className="hc-button hc-button-primary" to="/login">
            Sign in
          </Link>
          <Link className="hc-button hc-button-secondary" to="/pricing">
            See the plans
          </Link>
        </div>
      </section>
      <section className="hc-grid" aria-label="How it works">
        <div className="hc-card">
          <h2>Talk, don’t type</h2>
          <p className="hc-muted">A live voice call with an AI coach that listens, guides breathing and helps you settle.</p>
        </div>
        <div className="hc-card">
          <h2>Human coaches too</h2>
          <p className="hc-muted">On Premium, a certified coach can join your call alongside the AI.</p>
        </div>
        <div className="hc-card">
          <h2>See your progress</h2>
          <p className="hc-muted">Every session leaves a summary and a transcript you can come back to.</p>
        </div>
      </section>
    </div>
  );
}
