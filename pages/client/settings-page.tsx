import { Loading } from '../ui';
import { LoadFailed } from '../shared/load-failed';
import { loadProfile } from './profile';
import { ProfileForm } from './profile-form';
import { useLoad } from '../shared/use-load';

/** The profile from onboarding, editable, plus the favourite track for the waiting room. */
export function SettingsPage() {
  const [load, retry] = useLoad(loadProfile);
  if (load.state === 'loading') return <Loading label="Loading your settings…" />;
  if (load.state === 'failed') return <LoadFailed error={load.error} what="your settings" retry={retry} />;
  return (
    <section className="hc-card hc-stack hc-medium" aria-labelledby="settings-title">
      <h1 id="settings-title">Settings</h1>
      <ProfileForm profile={load.data} withTrack submitLabel="Save changes" onSaved={() => undefined} />
    </section>
  );
}
