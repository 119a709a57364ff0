import { describe, expect, it } from 'vitest';
import { loadHostConfig } from '../src/host';

describe('the host configuration', () => {
  it('fills in its defaults, and refuses a bad value naming every variable at fault', () => {
    expect(loadHostConfig({})).toEqual({ drainMs: 600_000, flushMs: 60_000, sweepMs: 60_000, droppedRetentionMs: 30 * 24 * 60 * 60_000 });
    expect(loadHostConfig({ AGENT_HOST_SWEEP_MS: ' 0 ', AGENT_HOST_DROPPED_RETENTION_DAYS: '2' })).toMatchObject({
      sweepMs: 0,
      droppedRetentionMs: 2 * 24 * 60 * 60_000,
    });
    expect(() => loadHostConfig({ AGENT_HOST_DRAIN_MS: 'soon', AGENT_HOST_DROPPED_RETENTION_DAYS: '0' })).toThrow(
      /AGENT_HOST_DRAIN_MS must be a number of milliseconds \(got "soon"\)\n\s+AGENT_HOST_DROPPED_RETENTION_DAYS must be a whole number of days, at least 1/,
    );
  });
});
