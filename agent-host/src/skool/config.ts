/** The Skool sync's configuration, read once from the environment; fails fast naming what is missing. */
import { isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { type Env, oneOf, optional, parseEnv, required, wholeNumber } from '../lib/env';
import { DEFAULT_CHROMIUM_PATH, type SandboxSetting } from './chromium';
import type { ScraperConfig } from './scraper';

export interface SkoolSyncConfig {
  /** Shared with the Worker: verifies its requests and signs ours (AGENT_HOST_SECRET). */
  secret: string;
  port: number;
  outboxDir: string;
  /**
   * Null on an agent-host with `SKOOL_SYNC=off`: with several agent-hosts the sync runs on exactly one
   * (the one the Worker's AGENT_HOST_URL names); the others need no Skool password and refuse sync
   * requests (docs/operations.md, "More than one agent-host").
   */
  scraper: ScraperConfig | null;
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
const need = (name: keyof typeof REQUIRED) => required(name, ` (${REQUIRED[name]})`);

/** An http(s) URL, resolved against `base` if relative; '' (with an issue naming `name`) otherwise. */
function httpUrl(name: string, value: string, base: string | undefined, ctx: z.RefinementCtx): string {
  try {
    const parsed = new URL(value, base);
    if (parsed.protocol === 'http:' || parsed.protocol === 'https:') return parsed.href;
  } catch {
    // reported below
  }
  ctx.addIssue({ code: 'custom', path: [name], message: `${name} must be an http(s) URL (got "${value}")` });
  return '';
}

const dir = (fallback: string) => optional(fallback).transform((v) => (isAbsolute(v) ? v : resolve(v)));

/** What every agent-host reads for its sync server (which also answers /health), sync on or off. */
const serverEnv = {
  // Used as set (not trimmed): the Worker signs with the very same string.
  AGENT_HOST_SECRET: z
    .string({ error: `AGENT_HOST_SECRET is required (${REQUIRED.AGENT_HOST_SECRET})` })
    .refine((v) => v.trim() !== '', `AGENT_HOST_SECRET is required (${REQUIRED.AGENT_HOST_SECRET})`)
    .refine((v) => v.trim() === '' || v.length >= MIN_SECRET_LENGTH, `AGENT_HOST_SECRET must be at least ${MIN_SECRET_LENGTH} characters`),
  AGENT_HOST_PORT: wholeNumber('AGENT_HOST_PORT', 'a port number', DEFAULT_PORT, 0, 65535),
  AGENT_HOST_OUTBOX_DIR: dir(DEFAULT_OUTBOX_DIR),
};

/** `SKOOL_SYNC`: on (the default) runs the sync here; off, this agent-host only takes rooms. */
const SyncSwitch = z.object({ SKOOL_SYNC: oneOf('SKOOL_SYNC', ['on', 'off'], 'on') });

/** An agent-host with the sync off: no Skool variable is read, none is needed. */
const SkoolSyncOffEnv = z
  .object(serverEnv)
  .transform((e): SkoolSyncConfig => ({ secret: e.AGENT_HOST_SECRET, port: e.AGENT_HOST_PORT, outboxDir: e.AGENT_HOST_OUTBOX_DIR, scraper: null }));

/** Every variable the Skool sync reads, with its default. */
const SkoolSyncEnv = z
  .object({
    ...serverEnv,
    SKOOL_EMAIL: need('SKOOL_EMAIL'),
    SKOOL_PASSWORD: z
      .string({ error: `SKOOL_PASSWORD is required (${REQUIRED.SKOOL_PASSWORD})` })
      .refine((v) => v.trim() !== '', `SKOOL_PASSWORD is required (${REQUIRED.SKOOL_PASSWORD})`),
    SKOOL_ULTRA_URL: need('SKOOL_ULTRA_URL'),
    SKOOL_VAGUS_URL: need('SKOOL_VAGUS_URL'),
    SKOOL_BASE_URL: optional('https://www.skool.com'),
    SKOOL_CHROMIUM_SANDBOX: oneOf('SKOOL_CHROMIUM_SANDBOX', ['on', 'off'], 'on'),
    SKOOL_DIAGNOSTICS_DIR: dir(DEFAULT_DIAGNOSTICS_DIR),
    CHROMIUM_PATH: optional(DEFAULT_CHROMIUM_PATH),
  })
  .transform((e, ctx): SkoolSyncConfig => {
    const base = httpUrl('SKOOL_BASE_URL', e.SKOOL_BASE_URL, undefined, ctx);
    return {
      secret: e.AGENT_HOST_SECRET,
      port: e.AGENT_HOST_PORT,
      outboxDir: e.AGENT_HOST_OUTBOX_DIR,
      scraper: {
        baseUrl: base,
        email: e.SKOOL_EMAIL,
        password: e.SKOOL_PASSWORD,
        membersUrls: {
          ultra: httpUrl('SKOOL_ULTRA_URL', e.SKOOL_ULTRA_URL, base || undefined, ctx),
          vagus: httpUrl('SKOOL_VAGUS_URL', e.SKOOL_VAGUS_URL, base || undefined, ctx),
        },
        chromiumPath: e.CHROMIUM_PATH,
        chromiumSandbox: e.SKOOL_CHROMIUM_SANDBOX satisfies SandboxSetting,
        diagnosticsDir: e.SKOOL_DIAGNOSTICS_DIR,
      },
    };
  });

export function loadSkoolSyncConfig(env: Env = process.env): SkoolSyncConfig {
  const { SKOOL_SYNC } = parseEnv(SyncSwitch, env, 'agent-host Skool sync');
  return parseEnv(SKOOL_SYNC === 'off' ? SkoolSyncOffEnv : SkoolSyncEnv, env, 'agent-host Skool sync');
}
