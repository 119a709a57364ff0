import { useQuery } from '@tanstack/react-query';
import { ChangePassword } from '../shared/change-password';
import { EmailSettings } from '../shared/email-settings';
import { Pending } from '../shared/query';
import { DataRights } from './data-rights';
import { profileQuery } from './profile';
import { ProfileForm } from './profile-form';

/** The profile from onboarding, editable, plus the favourite track for the waiting room; reminder emails; the password; and the client's data (download, delete). */
export function SettingsPage() {
  const load = useQuery(profileQuery);
  if (load.data === undefined) return <Pending query={load} label="Loading your settings…" what="your settings" />;
  return (
    <div className="hc-settings">
      <section className="hc-card hc-stack hc-medium" aria-labelledby="settings-title">
        <h1 id="settings-title">Settings</h1>
        <ProfileForm profile={load.data} withTrack submitLabel="Save changes" onSaved={() => undefined} />
      </section>
      <EmailSettings />
      <ChangePassword />
      <DataRights />
    </div>
  );
}
