import { useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { useLocation, useNavigate } from 'react-router';
import { ApiError, messageOf } from '../api/client';
import { publicPricingUrl } from '../api/config';
import { Pending } from '../shared/query';
import { Alert } from '../ui';
import { type Appointment, appointmentCall } from './appointments';
import { ConsentStep, consentQuery } from './consent';
import { profileQuery } from './profile';
import { ProfileForm } from './profile-form';
import { callPath, startOrRejoin } from './start-call';

/** Where onboarding goes once saved: the dashboard, a new session, or an appointment's call. */
type After = { after?: 'start' } | { after: 'appointment'; appointment: Pick<Appointment, 'id' | 'status'> };

/**
 * Before the first session: what is recorded, to agree to (asked again when its text changes), then
 * goals, symptoms and today's mood, kept in the profile (editable in settings). Reached from "Start a
 * session" or an appointment's "Join", it goes on to that call once both are done.
 */
export function OnboardingPage() {
  const navigate = useNavigate();
  const location = useLocation();
  const next = (location.state as After | null) ?? {};
  const thenStart = next.after === 'start' || next.after === 'appointment';
  const load = useQuery(profileQuery);
  const consent = useQuery(consentQuery);
  const [startError, setStartError] = useState<unknown>(null);

  async function saved() {
    if (!thenStart) {
      navigate('/dashboard');
      return;
    }
    try {
      if (next.after === 'appointment') {
        navigate(...callPath(await appointmentCall(next.appointment)));
        return;
      }
      navigate(...callPath(await startOrRejoin()));
    } catch (err) {
      setStartError(err);
    }
  }

  if (load.data === undefined) return <Pending query={load} label="Loading…" what="your profile" />;
  if (consent.data === undefined) return <Pending query={consent} label="Loading…" what="what we record" />;
  if (!consent.data.agreed) {
    // Already onboarded (a new text to agree to): straight on once agreed.
    const onboarded = load.data.onboardingCompleted;
    return <ConsentStep consent={consent.data} onAgreed={() => onboarded && void saved()} />;
  }
  const limit = startError instanceof ApiError && startError.code === 'TIER_LIMIT_REACHED';
  return (
    <section className="hc-card hc-stack hc-medium" aria-labelledby="onboarding-title">
      <h1 id="onboarding-title">Before your first session</h1>
      <p className="hc-muted">A few words help your coach meet you where you are. You can change these any time in Settings.</p>
      {startError !== null && (
        <Alert tone={limit ? 'warn' : 'error'} title="Saved, but your session did not start">
          <p>{messageOf(startError)}</p>
          {limit && (
            <p>
              <a href={publicPricingUrl}>Upgrade your plan</a> for unlimited sessions.
            </p>
          )}
        </Alert>
      )}
      <ProfileForm
        profile={load.data}
        withTrack={false}
        submitLabel={next.after === 'appointment' ? 'Save and join the call' : thenStart ? 'Save and start my session' : 'Save and continue'}
        onSaved={() => void saved()}
      />
    </section>
  );
}
