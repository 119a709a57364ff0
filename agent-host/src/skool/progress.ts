/**
 * Progress of a Skool sync run, told to the Worker as the scrape goes (members scraped so far per
 * community): what the staff console shows, and the Worker's sign that the run is alive (a run silent
 * for minutes is failed there). Best-effort by design: a report is one signed POST, never stored or
 * retried (the next report replaces a lost one), at most one in flight, the newest counts winning.
 * Reports go out when the counts change and at least every PROGRESS_HEARTBEAT_MS.
 */
import { describeError, log } from '@hybrid-coach/shared/log';
import { signedHeaders } from '@hybrid-coach/shared/signing';
import { type Community, PROGRESS_HEARTBEAT_MS, type ProgressMessage } from './contract';

export interface ProgressOptions {
  secret: string;
  /** The Worker's `/api/webhooks/skool-sync` (the start request's resultUrl). */
  url: string;
  runId: string;
  heartbeatMs?: number;
  /** Each report waits at most this long for its answer. */
  timeoutMs?: number;
  fetch?: typeof fetch;
}

export interface ProgressReporter {
  /** Members of `community` scraped so far. */
  scraped(community: Community, members: number): void;
  /** Sends the last counts (best-effort) and stops the heartbeat. */
  stop(): Promise<void>;
}

export function startProgress(options: ProgressOptions): ProgressReporter {
  const doFetch = options.fetch ?? globalThis.fetch;
  const counts: ProgressMessage['scraped'] = { ultra: null, vagus: null };
  let seq = 0;
  let sentSeq = 0;
  let changed = true;
  let inFlight: Promise<void> | null = null;
  let stopped = false;

  const sendOnce = async (): Promise<void> => {
    changed = false;
    seq += 1;
    const message: ProgressMessage = { runId: options.runId, kind: 'progress', scraped: { ...counts } };
    const body = JSON.stringify(message);
    try {
      const res = await doFetch(options.url, {
        method: 'POST',
        headers: await signedHeaders(options.secret, body, `${options.runId}:progress:${seq}`),
        body,
        signal: AbortSignal.timeout(options.timeoutMs ?? 5_000),
      });
      await res.body?.cancel().catch(() => undefined);
      if (!res.ok) log('warn', 'skool sync: progress report refused', { runId: options.runId, status: res.status });
      else sentSeq = seq;
    } catch (err) {
      // Lost: the next report carries the counts again.
      log('warn', 'skool sync: progress report not delivered', { runId: options.runId, ...describeError(err) });
    }
  };

  /** Sends now unless a report is on its way (then the newest counts go when it returns). */
  const flush = (): Promise<void> => {
    if (inFlight) return inFlight;
    inFlight = (async () => {
      do await sendOnce();
      while (changed && !stopped);
    })().finally(() => {
      inFlight = null;
    });
    return inFlight;
  };

  const heartbeat = setInterval(() => void flush(), options.heartbeatMs ?? PROGRESS_HEARTBEAT_MS);
  heartbeat.unref();
  void flush();

  return {
    scraped(community, members) {
      if (stopped || counts[community] === members) return;
      counts[community] = members;
      changed = true;
      void flush();
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      clearInterval(heartbeat);
      await inFlight;
      // The last counts, once, if the last report did not carry them.
      if (changed || sentSeq !== seq) await sendOnce();
    },
  };
}
