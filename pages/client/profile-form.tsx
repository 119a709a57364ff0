import type { FormEvent } from 'react';
import { useState } from 'react';
import { ApiError, messageOf } from '../api/client';
import { Alert, Button, ChoiceGroup, TextArea, TextField } from '../ui';
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
  const [goals, setGoals] = useState(profile.coachingGoals ?? '');
  const [symptoms, setSymptoms] = useState(profile.symptoms ?? '');
  const [mood, setMood] = useState<number | null>(profile.initialMood);
  const [track, setTrack] = useState(profile.favouriteTrackUrl ?? '');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [fields, setFields] = useState<Record<string, string>>({});
  const [saved, setSaved] = useState(false);

  async function submit(e: FormEvent) {
    e.preventDefault();
    const local: Record<string, string> = {};
    if (!goals.trim()) local.coachingGoals = 'Tell us at least one thing you would like from coaching.';
    if (mood === null) local.initialMood = 'Choose how you feel today.';
    setFields(local);
    setSaved(false);
    if (Object.keys(local).length > 0) {
      setError('Please fill in the fields marked below.');
      return;
    }
    setBusy(true);
    setError(null);
    const patch: ProfilePatch = { coachingGoals: goals, symptoms, ...(mood !== null ? { initialMood: mood } : {}) };
    if (withTrack) patch.favouriteTrackUrl = track.trim() ? track.trim() : null;
    try {
      const next = await saveProfile(patch);
      setSaved(true);
      onSaved(next);
    } catch (err) {
      setError(messageOf(err));
      if (err instanceof ApiError) setFields(err.fields);
    } finally {
      setBusy(false);
    }
  }

  return (
    <form className="hc-stack" onSubmit={submit} noValidate aria-label="Your coaching profile">
      {error && (
        <Alert title="Not saved yet">
          <p>{error}</p>
        </Alert>
      )}
      {saved && !error && (
        <Alert tone="info">
          <p>Saved.</p>
        </Alert>
      )}
      <TextArea
        label="What would you like from coaching?"
        name="coachingGoals"
        hint="For example: sleep better, feel calmer at work, handle panic."
        value={goals}
        maxLength={2000}
        onChange={(e) => setGoals(e.target.value)}
        error={fields.coachingGoals}
        required
      />
      <TextArea
        label="What do you notice in your body or mood? (optional)"
        name="symptoms"
        hint="Anything you would like your coach to know: tension, racing heart, low energy…"
        value={symptoms}
        maxLength={2000}
        onChange={(e) => setSymptoms(e.target.value)}
        error={fields.symptoms}
      />
      <ChoiceGroup legend="How do you feel today?" name="initialMood" choices={MOODS} value={mood} onChange={setMood} error={fields.initialMood} required />
      {withTrack && (
        <TextField
          label="Favourite calming track (optional)"
          name="favouriteTrackUrl"
          type="url"
          inputMode="url"
          placeholder="https://…/track.mp3"
          hint="A link to an audio file, played in the waiting room. Leave empty for our calm track."
          value={track}
          onChange={(e) => setTrack(e.target.value)}
          error={fields.favouriteTrackUrl}
        />
      )}
      <div>
        <Button type="submit" busy={busy}>
          {busy ? 'Saving…' : submitLabel}
        </Button>
      </div>
    </form>
  );
}
