import { CONSENT_POINTS, CONSENT_TITLE } from '@hybrid-coach/shared/consent';

/** The consent text (shared/src/consent.ts) as the client portal asks for it and the privacy page shows it. */
export function ConsentText({ headingId, level = 'h2' }: { headingId: string; level?: 'h1' | 'h2' }) {
  const Heading = level;
  return (
    <>
      <Heading id={headingId}>{CONSENT_TITLE}</Heading>
      <ul data-testid="consent-points">
        {CONSENT_POINTS.map((p) => (
          <li key={p}>{p}</li>
        ))}
      </ul>
    </>
  );
}
