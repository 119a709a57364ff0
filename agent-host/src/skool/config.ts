/** The Skool sync's configuration, read once from the environment; fails fast naming what is missing. */
import { isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_CHROMIUM_PATH, type SandboxSetting } from './chromium';
import type { ScraperConfig } from './scraper';

export interface SkoolSyncConfig {
  /** Shared with the Worker: verifies its requests and signs ours (AGENT_HOST_SECRET). */
  secret: string;
  port: number;
  outboxDir: string;
  scraper: ScraperConfig;
}

export const DEFAULT_PORT = 8788;
const AGENT_HOST_DIR = fileURLToPath(new URL('../../', import.meta.url));
export const DEFAULT_OUTBOX_DIR = resolve(AGENT_HOST_DIR, '.outbox');
export const DEFAULT_DIAGNOSTICS_DIR = resolve(AGENT_HOST_DIR, '.diagnostics');
const MIN_SECRET_LENGTH = 32;

const REQUIRED = {
  AGENT_HOST_SECRET: 'the secret shared with the Worker that signs requests both ways',
  SKOOL_EMAIL: 'the Skool admin account the sync logs in with',
  SKOOL_PASSWORD: "that account's password",
  SKOOL_ULTRA_URL: "the Ultra community's members page, e.g. https://www.skool.com/<ultra-group>/-/members",
  SKOOL_VAGUS_URL: "the Vagus community's members page, e.g. https://www.skool.com/<vagus-group>/-/members",
} as const;

export function loadSkoolSyncConfig(env: Record<string, string | undefined> = process.env): SkoolSyncConfig {
  const problems: string[] = [];
  for (const [name, what] of Object.entries(REQUIRED)) {
    if (!env[name]?.trim()) problems.push(`${name} is required (${what})`);
  }
  const secret = env.AGENT_HOST_SECRET ?? '';
  if (secret && secret.length < MIN_SECRET_LENGTH) problems.push(`AGENT_HOST_SECRET must be at least ${MIN_SECRET_LENGTH} characters`);

  const baseUrl = env.SKOOL_BASE_URL?.trim() || 'https://www.skool.com';
  const url = (name: string, value: string | undefined, base?: string): string => {
    try {
      const parsed = new URL(value ?? '', base);
      if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new Error('not http(s)');
      return parsed.href;
    } catch {
      problems.push(`${name} must be an http(s) URL (got "${value}")`);
      return '';
    }
  };
  const base = url('SKOOL_BASE_URL', baseUrl);
  const ultra = env.SKOOL_ULTRA_URL?.trim() ? url('SKOOL_ULTRA_URL', env.SKOOL_ULTRA_URL.trim(), base || undefined) : '';
  const vagus = env.SKOOL_VAGUS_URL?.trim() ? url('SKOOL_VAGUS_URL', env.SKOOL_VAGUS_URL.trim(), base || undefined) : '';

  const sandbox = env.SKOOL_CHROMIUM_SANDBOX?.trim() || 'on';
  if (sandbox !== 'on' && sandbox !== 'off') problems.push(`SKOOL_CHROMIUM_SANDBOX must be "on" or "off" (got "${sandbox}")`);

  const portText = env.AGENT_HOST_PORT?.trim() || String(DEFAULT_PORT);
  const port = Number(portText);
  if (!Number.isInteger(port) || port < 0 || port > 65535) problems.push(`AGENT_HOST_PORT must be a port number (got "${portText}")`);

  if (problems.length > 0) throw new Error(`agent-host Skool sync is misconfigured:\n  ${problems.join('\n  ')}`);

  const dir = (value: string | undefined, fallback: string) => (value?.trim() ? (isAbsolute(value) ? value : resolve(value)) : fallback);
  return {
    secret,
    port,
    outboxDir: dir(env.AGENT_HOST_OUTBOX_DIR, DEFAULT_OUTBOX_DIR),
    scraper: {
      baseUrl: base,
      email: (env.SKOOL_EMAIL ?? '').trim(),
      password: env.SKOOL_PASSWORD ?? '',
      membersUrls: { ultra, vagus },
      chromiumPath: env.CHROMIUM_PATH?.trim() || DEFAULT_CHROMIUM_PATH,
      chromiumSandbox: sandbox as SandboxSetting,
      diagnosticsDir: dir(env.SKOOL_DIAGNOSTICS_DIR, DEFAULT_DIAGNOSTICS_DIR),
    },
  };
}
