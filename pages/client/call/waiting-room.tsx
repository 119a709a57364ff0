import { Alert, Button } from '../../ui';
import { MicMeter } from './mic-meter';

/** Bundled with the portal (pages/client/public/calm-track.wav, made by pages/client/make-calm-track.mjs). */
export const CALM_TRACK = '/calm-track.wav';

/** While the AI coach joins: music (the favourite track, or the calm one) and a microphone check. */
export function WaitingRoom({ trackUrl, onEnter, micProblem }: { trackUrl: string | null; onEnter: () => void; micProblem: React.ReactNode }) {
  return (
    <div className="hc-call" data-testid="waiting-room">
      <section className="hc-card hc-stack" aria-labelledby="waiting-title">
        <h1 id="waiting-title">Your coach is on the way</h1>
        <Alert tone="info">
          <p role="status">Your AI coach is joining the room. This usually takes a few seconds; the call opens by itself.</p>
        </Alert>
        <h2>Something calm while you wait</h2>
        <audio className="hc-audio" controls loop preload="none" src={trackUrl ?? CALM_TRACK} aria-label={trackUrl ? 'Your favourite track' : 'A calm track'}>
          Your browser cannot play this track.
        </audio>
        <p className="hc-muted">{trackUrl ? 'Your favourite track, from Settings.' : 'You can choose your own track in Settings.'}</p>
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
