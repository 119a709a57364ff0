import type { FormEvent } from 'react';
import { useState } from 'react';
import { ApiError, api, call, messageOf } from '../api/client';
import { useAction } from '../shared/action';
import { Alert, Button, ChoiceGroup, Notice, TextArea } from '../ui';

const RATINGS = [1, 2, 3, 4, 5].map((n) => ({ value: n, label: `${n} ${'★'.repeat(n)}` }));
const TIPS = [
  { value: 'none', label: 'No tip' },
  { value: '1', label: '$1' },
  { value: '3', label: '$3' },
  { value: '5', label: '$5' },
] as const;
type TipChoice = (typeof TIPS)[number]['value'];

export interface SavedRating {
  rating: number;
  tip: number | null;
  comment: string | null;
}

/** "★★★★☆ 4 of 5" for a rating; the stars are hidden from screen readers, the words are not. */
export function Stars({ rating }: { rating: number }) {
  return (
    <span>
      <span className="hc-stars" aria-hidden="true">
        {'★'.repeat(rating)}
        {'☆'.repeat(5 - rating)}
      </span>{' '}
      <span className="hc-muted">{rating} of 5</span>
    </span>
  );
}

/** After a session: a rating 1 to 5, an optional tip and comment; the API keeps the first one only. */
export function RatingForm({ sessionId, existing, onSaved }: { sessionId: string; existing: SavedRating | null; onSaved?: (r: SavedRating) => void }) {
  const [rating, setRating] = useState<number | null>(null);
  const [tip, setTip] = useState<TipChoice>('none');
  const [comment, setComment] = useState('');
  const [saved, setSaved] = useState<SavedRating | null>(existing);
  const save = useAction(
    async (json: { rating: number; tip: 1 | 3 | 5 | null; comment?: string }) => {
      const out = await call(api.api.sessions[':id'].rating.$post({ param: { id: sessionId }, json }));
      setSaved(out);
      onSaved?.(out);
    },
    (err) => (err instanceof ApiError && err.code === 'CONFLICT' ? `${err.message}.` : messageOf(err)),
  );

  if (saved) {
    return (
      <div className="hc-stack" data-testid="rating-saved">
        <Alert tone="info" title="Thank you for your rating">
          <p>
            You rated this session <Stars rating={saved.rating} />
            {saved.tip ? `, with a $${saved.tip} tip` : ''}.
          </p>
          {saved.comment && <p>“{saved.comment}”</p>}
        </Alert>
      </div>
    );
  }

  function submit(e: FormEvent) {
    e.preventDefault();
    if (rating === null) {
      save.refuse('Choose a rating from 1 to 5.');
      return;
    }
    save.run({ rating, tip: tip === 'none' ? null : (Number(tip) as 1 | 3 | 5), ...(comment.trim() ? { comment } : {}) });
  }

  return (
    <form className="hc-stack" onSubmit={submit} noValidate aria-label="Rate this session">
      <Notice text={save.error} title="Not saved" />
      <ChoiceGroup legend="How was this session?" name="rating" choices={RATINGS} value={rating} onChange={setRating} required />
      <ChoiceGroup
        legend="Leave a tip (optional)"
        name="tip"
        choices={TIPS}
        value={tip}
        onChange={setTip}
        hint="Tips go to the Hybrid Coach team; nothing is charged until billing is set up."
      />
      <TextArea
        label="Anything you would like to tell us? (optional)"
        name="comment"
        maxLength={2000}
        value={comment}
        onChange={(e) => setComment(e.target.value)}
      />
      <div>
        <Button type="submit" busy={save.busy} busyLabel={'Saving…'}>
          Save my rating
        </Button>
      </div>
    </form>
  );
}
