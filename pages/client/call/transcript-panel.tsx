import { useEffect, useRef } from 'react';
import type { TranscriptEntry } from './use-transcript';

const LABEL = { client: 'You', coach: 'Coach', ai: 'AI coach' } as const;

/**
 * The live transcript. Lines still being spoken are shown in italics but hidden from screen readers,
 * so each line is announced once, when it is final. Follows new lines unless the client has
 * scrolled up to read.
 */
export function TranscriptPanel({ id, entries }: { id: string; entries: TranscriptEntry[] }) {
  const listRef = useRef<HTMLDivElement>(null);
  const pinned = useRef(true);

  useEffect(() => {
    const list = listRef.current;
    // On every new line (the length, read here, is what changes), unless the client scrolled up.
    if (list && pinned.current && entries.length > 0) list.scrollTop = list.scrollHeight;
  }, [entries.length]);

  return (
    <section id={id} className="hc-card hc-stack" aria-labelledby={`${id}-title`}>
      <h2 id={`${id}-title`}>Transcript</h2>
      {entries.length === 0 ? (
        <p className="hc-muted">What you and your coach say will appear here.</p>
      ) : (
        <div
          ref={listRef}
          className="hc-transcript"
          role="log"
          aria-live="polite"
          data-testid="transcript"
          // A scrollable region must take the keyboard's focus, or keyboard users cannot scroll it.
          // biome-ignore lint/a11y/noNoninteractiveTabindex: a focusable scroll region (WCAG 2.1.1)
          tabIndex={0}
          aria-label="Transcript lines"
          onScroll={(e) => {
            const el = e.currentTarget;
            pinned.current = el.scrollHeight - el.scrollTop - el.clientHeight < 32;
          }}
        >
          {entries.map((l) => (
            <p key={l.key} className={l.final ? undefined : 'hc-transcript-interim'} aria-hidden={l.final ? undefined : true}>
              <span className="hc-speaker">{LABEL[l.role]}:</span>
              {l.text}
            </p>
          ))}
        </div>
      )}
    </section>
  );
}
