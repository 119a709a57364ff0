import type { ChangeEvent, FormEvent } from 'react';
import { useState } from 'react';
import { ApiError } from '../api/client';
import { useAction } from '../shared/action';
import { Alert, Button, ChoiceGroup, Notice, TextArea, TextField } from '../ui';
import type { Profile, ProfilePatch } from './profile';
import { MOODS, saveProfile } from './profile';

/**
 * The coaching profile as a form: goals, symptoms and mood (onboarding and settings), plus the
 * favourite track (settings only). Field errors from the API are shown beside their fields.
 */
export function ProfileForm({
  profile,
  withTrack,
  submitLabel,
  onSaved,
}: {
  profile: Profile;
  withTrack: boolean;
  submitLabel: string;
  onSaved: (profile: Profile) => void;
}) {
  const [text, setText] = useState({
    coachingGoals: profile.coachingGoals ?? '',
    symptoms: profile.symptoms ?? '',
    favouriteTrackUrl: profile.favouriteTrackUrl ?? '',
  });
  const [mood, setMood] = useState<number | null>(profile.initialMood);
  const [missing, setMissing] = useState<Record<string, string>>({});
  const save = useAction(async (patch: ProfilePatch) => onSaved(await saveProfile(patch)));
  const fields = save.failure instanceof ApiError ? save.failure.fields : missing;
  /** A text field's value, its change and its error, by the profile field it edits. */
  const bind = (name: keyof typeof text) => ({
    name,
    value: text[name],
    onChange: (e: ChangeEvent<HTMLInputElement | HTMLTextAreaElement>) => setText((prev) => ({ ...prev, [name]: e.target.value })),
    error: fields[name],
  });

  function submit(e: FormEvent) {
    e.preventDefault();
    const local: Record<string, string> = {};
    if (!text.coachingGoals.trim()) local.coachingGoals = 'Tell us at least one thing you would like from coaching.';
    if (mood === null) local.initialMood = 'Choose how you feel today.';
    setMissing(local);
    if (Object.keys(local).length > 0) {
      save.refuse('Please fill in the fields marked below.');
      return;
    }
    const patch: ProfilePatch = { coachingGoals: text.coachingGoals, symptoms: text.symptoms, ...(mood !== null ? { initialMood: mood } : {}) };
    const track = text.favouriteTrackUrl.trim();
    if (withTrack) patch.favouriteTrackUrl = track ? track : null;
    save.run(patch);
  }

  return (
    <form className="hc-stack" onSubmit={submit} noValidate aria-label="Your coaching profile">
      <Notice text={save.error} title="Not saved yet" />
      {save.done && (
        <Alert tone="info">
          <p>Saved.</p>
        </Alert>
      )}
      <TextArea
        label="What would you like from coaching?"
        hint="For example: sleep better, feel calmer at work, handle panic."
        maxLength={2000}
        {...bind('coachingGoals')}
        required
      />
      <TextArea
        label="What do you notice in your body or mood? (optional)"
        hint="Anything you would like your coach to know: tension, racing heart, low energy…"
        maxLength={2000}
        {...bind('symptoms')}
      />
      <ChoiceGroup legend="How do you feel today?" name="initialMood" choices={MOODS} value={mood} onChange={setMood} error={fields.initialMood} required />
      {withTrack && (
        <TextField
          label="Favourite calming track (optional)"
          type="url"
          inputMode="url"
          placeholder="https://…/track.mp3"
          hint="A link to an audio file, played in the waiting room. Leave empty for our calm track."
          {...bind('favouriteTrackUrl')}
        />
      )}
      <div>
        <Button type="submit" busy={save.busy} busyLabel={'Saving…'}>
          {submitLabel}
        </Button>
      </div>
    </form>
  );
}
