import type { ReactNode } from 'react';
import { useState } from 'react';
import { Alert, Button } from '../../ui';
import { MicMeter } from './mic-meter';

/** Bundled with the portal (pages/client/public/calm-track.wav, made by pages/client/make-calm-track.mjs). */
export const CALM_TRACK = '/calm-track.wav';

/**
 * While the AI coach joins: music (the favourite track from settings, or the bundled calm one when
 * there is none or it will not play) and a microphone check with a level meter.
 */
export function WaitingRoom({ trackUrl, onEnter, micProblem }: { trackUrl: string | null; onEnter: () => void; micProblem: ReactNode }) {
  const [favouriteFailed, setFavouriteFailed] = useState(false);
  const favourite = trackUrl !== null && !favouriteFailed;
  return (
    <div className="hc-call" data-testid="waiting-room">
      <section className="hc-card hc-stack" aria-labelledby="waiting-title">
        <h1 id="waiting-title">Your coach is on the way</h1>
        <Alert tone="info">
          <p>Your AI coach is joining the room. This usually takes a few seconds; the call opens by itself.</p>
        </Alert>
        <h2 id="music-title">Something calm while you wait</h2>
        {/* biome-ignore lint/a11y/useMediaCaption: instrumental music, nothing spoken to caption */}
        <audio
          key={favourite ? trackUrl : CALM_TRACK}
          className="hc-audio"
          controls
          loop
          preload="metadata"
          src={favourite ? trackUrl : CALM_TRACK}
          aria-labelledby="music-title"
          data-track={favourite ? 'favourite' : 'calm'}
          onError={() => favourite && setFavouriteFailed(true)}
        >
          Your browser cannot play this track.
        </audio>
        <p className="hc-muted">
          {favourite
            ? 'Your favourite track, from Settings.'
            : trackUrl
              ? 'Your favourite track would not play, so here is our calm track. You can change it in Settings.'
              : 'Our calm track. You can choose your own in Settings.'}
        </p>
        <div>
          <Button variant="secondary" onClick={onEnter}>
            Enter the room now
          </Button>
        </div>
      </section>
      <section className="hc-card hc-stack" aria-labelledby="mic-title">
        <h2 id="mic-title">Microphone check</h2>
        {micProblem ?? <MicMeter />}
      </section>
    </div>
  );
}
