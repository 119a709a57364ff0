/**
 * The agent-host as deployed: one process runs the AI coach's agent worker (agent/main.ts) and the
 * Skool sync server (skool/server.ts), whose port also answers `GET /health` for both. Shutting down
 * (main.ts, on SIGTERM) stops taking new sessions and sync runs, lets live sessions finish within a
 * grace period, then delivers what every outbox holds before it closes. Once an hour (and at start) it
 * deletes what the outboxes set aside in dropped/ longer ago than the retention.
 */

import { describeError, log } from '@hybrid-coach/shared/log';
import { z } from 'zod';
import { type AgentWorker, startAgentServer } from './agent/main';
import { type Env, parseEnv, wholeNumber } from './lib/env';
import { deleteOldDropped, droppedCount } from './lib/outbox';
import { assertPatched } from './lib/patched';
import { deleteOldSessionDropped, flushSessionOutboxes, sessionDroppedCount, sessionOutboxDepth } from './lib/session-outboxes';
import { loadSkoolSyncConfig } from './skool/config';
import { openSkoolSyncHost, type SkoolSyncHost } from './skool/server';

export interface HostConfig {
  /** How long live sessions (and a sync run) may go on after SIGTERM: AGENT_HOST_DRAIN_MS, default 10 minutes. */
  drainMs: number;
  /** How long the outboxes may take to deliver what they hold at shutdown: AGENT_HOST_FLUSH_MS, default 1 minute. */
  flushMs: number;
  /**
   * How often the folders of sessions with no live job here are delivered while the host runs (what a
   * job left when the Worker was down as it ended): AGENT_HOST_SWEEP_MS, default 1 minute; 0 = never.
   */
  sweepMs: number;
  /**
   * How long messages the Worker refused stay in the outboxes' dropped/ folders for an operator to
   * replay: AGENT_HOST_DROPPED_RETENTION_DAYS, default 30 (in milliseconds here).
   */
  droppedRetentionMs: number;
}

const DAY_MS = 24 * 60 * 60_000;
/** How often dropped/ is swept for what is older than the retention. */
const RETENTION_SWEEP_MS = 60 * 60_000;

/** The host's own variables, with their defaults. */
const HostEnv = z
  .object({
    AGENT_HOST_DRAIN_MS: wholeNumber('AGENT_HOST_DRAIN_MS', 'a number of milliseconds', 10 * 60_000),
    AGENT_HOST_FLUSH_MS: wholeNumber('AGENT_HOST_FLUSH_MS', 'a number of milliseconds', 60_000),
    AGENT_HOST_SWEEP_MS: wholeNumber('AGENT_HOST_SWEEP_MS', 'a number of milliseconds', 60_000),
    AGENT_HOST_DROPPED_RETENTION_DAYS: wholeNumber('AGENT_HOST_DROPPED_RETENTION_DAYS', 'a whole number of days, at least 1', 30, 1),
  })
  .transform(
    (e): HostConfig => ({
      drainMs: e.AGENT_HOST_DRAIN_MS,
      flushMs: e.AGENT_HOST_FLUSH_MS,
      sweepMs: e.AGENT_HOST_SWEEP_MS,
      droppedRetentionMs: e.AGENT_HOST_DROPPED_RETENTION_DAYS * DAY_MS,
    }),
  );

export function loadHostConfig(env: Env = process.env): HostConfig {
  return parseEnv(HostEnv, env, 'the agent-host');
}

/** What `GET /health` answers (503 when `ok` is false). */
export interface HostHealth {
  /** The agent worker is registered with livekit-server (the sync server is up: it is answering). */
  ok: boolean;
  /** SIGTERM received: no new sessions or sync runs; live ones finish. */
  draining: boolean;
  agent: { registered: boolean; status: string; activeJobs: number };
  /** `up: false` on an agent-host with `SKOOL_SYNC=off` (its sync server answers /health only). */
  sync: { up: boolean; running: string | null };
  /** Messages stored and not yet delivered to the Worker: the Skool sync's and the sessions' (transcript lines, summaries). */
  outbox: { skool: number; sessions: number };
  /** outbox.skool + outbox.sessions; with syncRunning, the fields the sync server alone answers too. */
  outboxDepth: number;
  syncRunning: boolean;
  /** Messages the Worker refused for good or for too long, set aside in dropped/ until replayed or past the retention. */
  dropped: { skool: number; sessions: number };
  /** dropped.skool + dropped.sessions: above 0, someone should look (docs/operations.md). */
  outboxDropped: number;
}

export interface ShutdownReport {
  /** Every live session and sync run ended within the grace period. */
  drained: boolean;
  /** Messages still on disk after the flush (the next start delivers them). */
  outboxLeft: number;
  durationMs: number;
}

export interface AgentHost {
  /** The sync server's origin (also /health). */
  url: string;
  health(): Promise<HostHealth>;
  /** Drains, flushes and closes; the same promise however often it is called. */
  shutdown(reason: string): Promise<ShutdownReport>;
  /** Rejects if the agent worker stops by itself (it gave up reaching livekit-server). */
  agentStopped: Promise<void>;
}

async function agentStatus(worker: AgentWorker): Promise<HostHealth['agent']> {
  const activeJobs = worker.server.activeJobs.length;
  try {
    const res = await fetch(`${worker.healthUrl}/`, { signal: AbortSignal.timeout(2_000) });
    return { registered: res.ok, status: (await res.text()).trim(), activeJobs };
  } catch {
    return { registered: false, status: 'the agent worker is not running', activeJobs };
  }
}

const within = <T>(promise: Promise<T>, ms: number): Promise<T | 'timeout'> => {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([
    promise,
    new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), ms);
    }),
  ]).finally(() => clearTimeout(timer));
};

/** Starts both sides from the environment; fails fast, naming what is missing, before either starts. */
export async function startAgentHost(env: Env = process.env, options: { host?: string } = {}): Promise<AgentHost> {
  assertPatched();
  const config = loadHostConfig(env);
  const skoolConfig = loadSkoolSyncConfig(env);
  const worker = await startAgentServer(env);
  // Read by startAgentServer after it started the stand-ins (offline), whose URLs it needs.
  const agentConfig = worker.config;
  let draining = false;
  let sync: SkoolSyncHost;

  const health = async (): Promise<HostHealth> => {
    const [agent, sessions, droppedSkool, droppedSessions] = await Promise.all([
      agentStatus(worker),
      sessionOutboxDepth(agentConfig.outboxDir),
      droppedCount(skoolConfig.outboxDir),
      sessionDroppedCount(agentConfig.outboxDir),
    ]);
    const skool = sync.outbox.depth;
    const running = sync.sync.running();
    return {
      ok: agent.registered,
      draining,
      agent,
      sync: { up: skoolConfig.scraper !== null, running },
      outbox: { skool, sessions },
      outboxDepth: skool + sessions,
      syncRunning: running !== null,
      dropped: { skool: droppedSkool, sessions: droppedSessions },
      outboxDropped: droppedSkool + droppedSessions,
    };
  };

  // What the Worker refused stays in dropped/ long enough for an operator to replay it, then goes.
  const deleteExpiredDropped = async () => {
    try {
      const deleted =
        (await deleteOldDropped(skoolConfig.outboxDir, config.droppedRetentionMs)) +
        (await deleteOldSessionDropped(agentConfig.outboxDir, config.droppedRetentionMs));
      if (deleted > 0) log('info', 'agent-host: retention: dropped outbox messages deleted', { deleted, retentionDays: config.droppedRetentionMs / DAY_MS });
    } catch (err) {
      log('warn', 'agent-host: retention of dropped outbox messages failed; next time', describeError(err));
    }
  };
  // Before /health answers, so its counts never include what is already past the retention.
  await deleteExpiredDropped();

  try {
    sync = await openSkoolSyncHost(skoolConfig, { ...(options.host ? { host: options.host } : {}), health, accepting: () => !draining });
  } catch (err) {
    await worker.server.close();
    throw err;
  }

  // What ended jobs left (the Worker was down when their session ended) goes out while the host runs,
  // not only at the next shutdown; a live job's folder is its own outbox's.
  const liveSessions = () =>
    new Set(
      worker.server.activeJobs.map((j) => {
        try {
          return (JSON.parse(j.job.metadata) as { sessionId?: string }).sessionId ?? '';
        } catch {
          return '';
        }
      }),
    );
  let sweeping: Promise<unknown> = Promise.resolve();
  const sweep = () => {
    sweeping = sweeping
      .then(async () => {
        if (draining) return;
        const live = liveSessions();
        const left = await flushSessionOutboxes(
          agentConfig.outboxDir,
          agentConfig.secret,
          Math.min(config.flushMs, Math.max(1_000, config.sweepMs)),
          (s) => !live.has(s),
        );
        if (left > 0) log('info', 'agent-host: session outboxes still hold messages', { outboxDepth: left });
      })
      .catch((err: unknown) => log('warn', 'agent-host: outbox sweep failed; next time', describeError(err)));
  };
  const sweepTimer = config.sweepMs > 0 ? setInterval(sweep, config.sweepMs) : undefined;
  sweepTimer?.unref();
  if (config.sweepMs > 0) sweep();

  const retentionTimer = setInterval(() => void deleteExpiredDropped(), RETENTION_SWEEP_MS);
  retentionTimer.unref();

  let shuttingDown: Promise<ShutdownReport> | undefined;
  const shutdown = (reason: string) =>
    (shuttingDown ??= (async () => {
      const started = Date.now();
      draining = true;
      clearInterval(sweepTimer);
      clearInterval(retentionTimer);
      await sweeping;
      log('info', 'agent-host: shutting down: no new sessions or sync runs; live ones may finish', {
        reason,
        graceMs: config.drainMs,
        activeJobs: worker.server.activeJobs.length,
        syncRun: sync.sync.running(),
      });
      // The worker tells livekit-server it is full (no new jobs) and waits for its jobs to end.
      const [agentDrained, syncDone] = await Promise.all([
        worker.server.drain(config.drainMs).then(
          () => true,
          () => false,
        ),
        within(sync.sync.idle(), config.drainMs),
      ]);
      if (!agentDrained) {
        log('warn', 'agent-host: grace period over; stopping the sessions still live (the Worker dispatches them another agent)', {
          activeJobs: worker.server.activeJobs.length,
        });
      }
      if (syncDone === 'timeout')
        log('warn', 'agent-host: grace period over with a Skool sync still running; the Worker times it out', { runId: sync.sync.running() });
      // Jobs still running are told to shut down: each stores what it heard before it exits.
      await worker.server.close().catch((err: unknown) => log('error', 'agent-host: the agent worker did not close cleanly', describeError(err)));
      const [skoolLeft, sessionsLeft] = await Promise.all([
        within(sync.outbox.drained(), config.flushMs).then(() => sync.outbox.depth),
        flushSessionOutboxes(agentConfig.outboxDir, agentConfig.secret, config.flushMs),
      ]);
      await sync.close();
      const report = { drained: agentDrained && syncDone !== 'timeout', outboxLeft: skoolLeft + sessionsLeft, durationMs: Date.now() - started };
      log(report.outboxLeft > 0 ? 'warn' : 'info', 'agent-host: stopped', {
        ...report,
        ...(report.outboxLeft > 0 ? { note: 'undelivered messages stay on disk; the next start delivers them' } : {}),
      });
      return report;
    })());

  const agentStopped = worker.running.then(() => {
    if (!shuttingDown) throw new Error('the agent worker stopped');
  });
  // Observed by whoever awaits it (main.ts); never an unhandled rejection on its own.
  agentStopped.catch(() => undefined);

  log('info', 'agent-host: running the agent worker and the Skool sync', { url: sync.url, drainMs: config.drainMs, flushMs: config.flushMs });
  return { url: sync.url, health, shutdown, agentStopped };
}
