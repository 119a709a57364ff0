import { useEffect, useRef } from 'react';

/** One line of the live transcript, as the coach sees it. */
export interface LiveLine {
  id: string;
  speakerRole: 'client' | 'coach' | 'ai';
  speakerIdentity: string;
  text: string;
  heardByAi: boolean;
  whisper: boolean;
  spokenAt: number;
}

const LABELS: Record<LiveLine['speakerRole'], string> = { client: 'Client', coach: 'Coach', ai: 'AI coach' };

/** The session's lines as they are stored, newest at the bottom, with the not-heard and whisper marks. */
export function LiveTranscript({ lines, coachId }: { lines: LiveLine[]; coachId: string }) {
  const end = useRef<HTMLLIElement>(null);
  // On every new line (the length, read here, is what changes).
  useEffect(() => {
    if (lines.length > 0) end.current?.scrollIntoView({ block: 'nearest' });
  }, [lines.length]);
  return (
    <section className="hc-card" aria-labelledby="live-transcript-title" data-testid="live-transcript">
      <h2 id="live-transcript-title">Live transcript</h2>
      {lines.length === 0 ? (
        <p className="hc-muted">Lines appear here as they are said.</p>
      ) : (
        <ol className="hc-lines hc-transcript" aria-label="Transcript lines" aria-live="polite">
          {lines.map((l) => (
            <li
              key={l.id}
              className="hc-line"
              data-testid="transcript-line"
              data-role={l.speakerRole}
              data-kind={l.whisper ? 'whisper' : 'speech'}
              data-heard={String(l.heardByAi)}
            >
              <div className="hc-line-head">
                <span className="hc-speaker">{l.speakerRole === 'coach' && l.speakerIdentity === coachId ? 'You' : LABELS[l.speakerRole]}</span>
                {l.whisper && (
                  <span className="hc-badge hc-badge-whisper" data-testid="whisper-mark">
                    Whisper to the AI
                  </span>
                )}
                {!l.whisper && !l.heardByAi && (
                  <span className="hc-badge hc-badge-unheard" data-testid="not-heard-mark">
                    AI did not hear
                  </span>
                )}
              </div>
              <p>{l.text}</p>
            </li>
          ))}
          <li ref={end} aria-hidden="true" />
        </ol>
      )}
    </section>
  );
}
