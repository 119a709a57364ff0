import type { TrackReferenceOrPlaceholder } from '@livekit/components-react';
import { useMultibandTrackVolume } from '@livekit/components-react';
import { useEffect, useRef } from 'react';

const BANDS = 6;

/**
 * The AI coach as an orb on a canvas: its edge follows the AI's audio across frequency bands (LiveKit's
 * useMultibandTrackVolume), it breathes slowly when quiet, and under prefers-reduced-motion it only
 * glows a little brighter when the AI speaks. Drawn at devicePixelRatio, so it stays sharp.
 */
export function Orb({ trackRef, label }: { trackRef: TrackReferenceOrPlaceholder | undefined; label: string }) {
  const bands = useMultibandTrackVolume(trackRef, { bands: BANDS, loPass: 80, hiPass: 500 });
  const canvasRef = useRef<HTMLCanvasElement>(null);
  const bandsRef = useRef<number[]>(bands);
  bandsRef.current = bands;

  useEffect(() => {
    const canvas = canvasRef.current;
    const ctx = canvas?.getContext('2d');
    if (!canvas || !ctx) return;
    let frame = 0;
    let level = 0;
    const smoothBands = new Array<number>(BANDS).fill(0);
    const motion = window.matchMedia('(prefers-reduced-motion: reduce)');

    const fit = () => {
      const dpr = window.devicePixelRatio || 1;
      const { width, height } = canvas.getBoundingClientRect();
      const w = Math.max(1, Math.round(width * dpr));
      const h = Math.max(1, Math.round(height * dpr));
      if (canvas.width !== w || canvas.height !== h) {
        canvas.width = w;
        canvas.height = h;
      }
      ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
      return { width, height };
    };
    // Sized now (not on the first frame or resize callback), so it is never drawn at the canvas's
    // default 300x150 and stretched.
    fit();
    const observer = new ResizeObserver(() => fit());
    observer.observe(canvas);

    const draw = (t: number) => {
      const { width, height } = fit();
      const calm = motion.matches;
      const input = bandsRef.current;
      const target = input.length ? input.reduce((a, b) => a + b, 0) / input.length : 0;
      // Ease towards the new level: quick to rise, slow to fall; slower still when motion is reduced.
      const rate = calm ? 0.05 : target > level ? 0.35 : 0.08;
      level += (Math.min(1, target * 2.2) - level) * rate;
      for (let i = 0; i < BANDS; i++) smoothBands[i] = (smoothBands[i] ?? 0) + ((input[i] ?? 0) - (smoothBands[i] ?? 0)) * 0.3;

      const cx = width / 2;
      const cy = height / 2;
      const base = Math.min(width, height) * 0.3;
      const breath = calm ? 0 : Math.sin(t / 1600) * 0.025;
      const radius = base * (1 + breath + (calm ? 0.05 : 0.22) * level);

      ctx.clearRect(0, 0, width, height);
      // Halo
      const halo = ctx.createRadialGradient(cx, cy, radius * 0.6, cx, cy, radius * 1.6);
      halo.addColorStop(0, `rgba(143, 184, 168, ${0.25 + 0.35 * level})`);
      halo.addColorStop(1, 'rgba(143, 184, 168, 0)');
      ctx.fillStyle = halo;
      ctx.fillRect(0, 0, width, height);
      // Body: a closed curve whose edge moves with the bands (a circle when motion is reduced).
      const points = 96;
      ctx.beginPath();
      for (let i = 0; i <= points; i++) {
        const a = (i / points) * Math.PI * 2;
        let r = radius;
        if (!calm) {
          for (let b = 0; b < BANDS; b++) {
            r += Math.sin(a * (b + 2) + t / (700 + b * 140)) * (smoothBands[b] ?? 0) * base * 0.09;
          }
        }
        const x = cx + Math.cos(a) * r;
        const y = cy + Math.sin(a) * r;
        if (i === 0) ctx.moveTo(x, y);
        else ctx.lineTo(x, y);
      }
      ctx.closePath();
      const body = ctx.createRadialGradient(cx - radius * 0.35, cy - radius * 0.4, radius * 0.1, cx, cy, radius * 1.1);
      body.addColorStop(0, `rgb(${200 + 40 * level}, ${230 + 20 * level}, 220)`);
      body.addColorStop(0.55, '#6fa594');
      body.addColorStop(1, '#2f6f62');
      ctx.fillStyle = body;
      ctx.fill();
      canvas.dataset.level = level.toFixed(2);
      frame = requestAnimationFrame(draw);
    };
    frame = requestAnimationFrame(draw);
    return () => {
      cancelAnimationFrame(frame);
      observer.disconnect();
    };
  }, []);

  return <canvas ref={canvasRef} className="hc-orb" role="img" aria-label={`AI coach: ${label}`} data-testid="orb" />;
}
