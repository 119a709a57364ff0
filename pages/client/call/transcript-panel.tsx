import type { TranscriptEntry } from './use-transcript';

const LABEL = { client: 'You', coach: 'Coach', ai: 'AI coach' } as const;

/** The live transcript, announced politely to screen readers as lines arrive. */
export function TranscriptPanel({ id, entries }: { id: string; entries: TranscriptEntry[] }) {
  return (
    <section id={id} className="hc-card hc-stack" aria-labelledby={`${id}-title`}>
      <h2 id={`${id}-title`}>Transcript</h2>
      {entries.length === 0 ? (
        <p className="hc-muted">What you and your coach say will appear here.</p>
      ) : (
        <div className="hc-transcript" aria-live="polite" data-testid="transcript">
          {entries.map((l) => (
            <p key={l.key} className={l.final ? undefined : 'hc-transcript-interim'}>
              <span className="hc-speaker">{LABEL[l.role]}:</span>
              {l.text}
            </p>
          ))}
        </div>
      )}
    </section>
  );
}
