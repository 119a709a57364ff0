import { useQuery, useQueryClient } from '@tanstack/react-query';
import { api, call } from '../api/client';
import { NoticeLine, Switch } from '../ui';
import { useAction } from './action';
import { meQuery } from './queries';
import { Pending } from './query';

/**
 * Settings › Email, in both portals: reminder emails before appointments on or off, saved at once.
 * Security emails (sign-in links, password changes) and notices of bookings always go.
 */
export function EmailSettings() {
  const me = useQuery(meQuery);
  const queries = useQueryClient();
  const save = useAction(async (on: boolean) => {
    const next = await call(api.api.users.me.$patch({ json: { emailReminders: on } }));
    queries.setQueryData(meQuery.queryKey, next);
  });
  if (me.data === undefined) return <Pending query={me} label="Loading your email settings…" what="your email settings" />;
  const on = me.data.emailReminders;
  return (
    <section className="hc-card hc-stack hc-medium" aria-labelledby="email-title" data-testid="email-settings">
      <h2 id="email-title">Email</h2>
      <Switch
        label="Reminder emails"
        name="emailReminders"
        checked={on}
        disabled={save.busy}
        onChange={(next) => save.run(next)}
        hint={on ? 'A reminder 24 hours and 1 hour before each booked session.' : 'No reminders. Emails about your account and your bookings still come.'}
      />
      <NoticeLine tone="error" text={save.error} />
    </section>
  );
}
