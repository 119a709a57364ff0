import { describe, expect, it } from 'vitest';
import { DEFAULT_OUTBOX_DIR, DEFAULT_PORT, loadSkoolSyncConfig } from '../../src/skool/config';

const complete = {
  AGENT_HOST_SECRET: 'a-secret-that-is-long-enough-0123456789',
  SKOOL_EMAIL: ' owner@example.com ',
  SKOOL_PASSWORD: 'pw',
  SKOOL_ULTRA_URL: 'https://www.skool.com/ultra-group/-/members',
  SKOOL_VAGUS_URL: '/vagus-group/-/members',
};

describe('the Skool sync configuration', () => {
  it('refuses to start without a required variable, naming each one missing', () => {
    expect(() => loadSkoolSyncConfig({ ...complete, SKOOL_PASSWORD: undefined, SKOOL_VAGUS_URL: '' })).toThrow(
      /SKOOL_PASSWORD is required[\s\S]*SKOOL_VAGUS_URL is required/,
    );
    expect(() => loadSkoolSyncConfig({ ...complete, AGENT_HOST_SECRET: undefined })).toThrow(/AGENT_HOST_SECRET is required/);
    expect(() => loadSkoolSyncConfig({ ...complete, AGENT_HOST_SECRET: 'short' })).toThrow(/AGENT_HOST_SECRET must be at least 32/);
    expect(() => loadSkoolSyncConfig({ ...complete, AGENT_HOST_PORT: 'eighty' })).toThrow(/AGENT_HOST_PORT must be a port number/);
    expect(() => loadSkoolSyncConfig({ ...complete, SKOOL_CHROMIUM_SANDBOX: 'no' })).toThrow(/SKOOL_CHROMIUM_SANDBOX must be "on" or "off"/);
  });

  it('fills in defaults and resolves a members page against SKOOL_BASE_URL', () => {
    const config = loadSkoolSyncConfig(complete);
    expect(config.port).toBe(DEFAULT_PORT);
    expect(config.outboxDir).toBe(DEFAULT_OUTBOX_DIR);
    expect(config.outboxDir).toMatch(/agent-host\/\.outbox$/);
    expect(config.scraper).toMatchObject({
      baseUrl: 'https://www.skool.com/',
      email: 'owner@example.com',
      chromiumPath: '/usr/bin/chromium',
      chromiumSandbox: 'on',
      membersUrls: { ultra: 'https://www.skool.com/ultra-group/-/members', vagus: 'https://www.skool.com/vagus-group/-/members' },
    });
    expect(config.scraper?.diagnosticsDir).toMatch(/agent-host\/\.diagnostics$/);
  });

  it('with SKOOL_SYNC=off needs no Skool variable and has no scraper; the rest is still checked', () => {
    const off = loadSkoolSyncConfig({ AGENT_HOST_SECRET: complete.AGENT_HOST_SECRET, SKOOL_SYNC: 'off' });
    expect(off).toMatchObject({ secret: complete.AGENT_HOST_SECRET, port: DEFAULT_PORT, outboxDir: DEFAULT_OUTBOX_DIR, scraper: null });
    // Set or not, the Skool variables are not read: the password never reaches a host that does not sync.
    expect(loadSkoolSyncConfig({ ...complete, SKOOL_SYNC: 'off' }).scraper).toBeNull();
    expect(() => loadSkoolSyncConfig({ SKOOL_SYNC: 'off' })).toThrow(/AGENT_HOST_SECRET is required/);
    expect(() => loadSkoolSyncConfig({ ...complete, SKOOL_SYNC: 'no' })).toThrow(/SKOOL_SYNC must be "on" or "off"/);
    expect(loadSkoolSyncConfig({ ...complete, SKOOL_SYNC: 'on' }).scraper).not.toBeNull();
  });
});
