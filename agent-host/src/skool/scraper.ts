/**
 * Scrapes Skool's members pages with Puppeteer: logs in once, then for each community opens the
 * members page, scrolls until no new members appear, and reads every card. Every wait has a timeout;
 * a step that fails saves a screenshot and the page's HTML to the diagnostics folder and names itself
 * in the error. One community failing does not stop the other.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describeError, log } from '@hybrid-coach/shared/log';
import { type Page, TimeoutError } from 'puppeteer-core';
import { type Chromium, launchChromium, type SandboxSetting } from './chromium';
import { COMMUNITIES, type Community, type Member } from './contract';
import { type RawCard, toMembers } from './member-cards';
import { selectors } from './selectors';

export interface ScrapeTimeouts {
  /** Each page load (login page, members page, form submit). */
  navigationMs: number;
  /** Each wait for an element to appear. */
  selectorMs: number;
  /** After a scroll, how long to wait for more members before calling the scroll idle. */
  idleScrollMs: number;
  /** Idle scrolls in a row that mean the list is complete. */
  maxIdleScrolls: number;
  /** A cap on scrolls per community, whatever happens. */
  maxScrolls: number;
  /** How long the "loading" spinner may stay before the list counts as stuck. */
  loadingMs: number;
  /** The whole of one community's scrape. */
  communityMs: number;
}

export const DEFAULT_TIMEOUTS: ScrapeTimeouts = {
  navigationMs: 45_000,
  selectorMs: 20_000,
  idleScrollMs: 2_500,
  maxIdleScrolls: 3,
  maxScrolls: 2_000,
  loadingMs: 30_000,
  communityMs: 15 * 60_000,
};

export interface ScraperConfig {
  /** Skool's origin (the replica's in tests); the login page is `${baseUrl}/login`. */
  baseUrl: string;
  email: string;
  password: string;
  /** Each community's members page. */
  membersUrls: Record<Community, string>;
  chromiumPath: string;
  /** SKOOL_CHROMIUM_SANDBOX: `off` runs Chromium without its sandbox (see chromium.ts); default `on`. */
  chromiumSandbox?: SandboxSetting;
  /** Where a failed step leaves its screenshot and HTML. */
  diagnosticsDir: string;
  timeouts?: Partial<ScrapeTimeouts>;
}

export type CommunityScrape = { ok: true; members: Member[] } | { ok: false; error: string };

export interface ScrapeResult {
  communities: Record<Community, CommunityScrape>;
}

/** A step of the scrape failed; the message names the step. */
export class ScrapeError extends Error {
  constructor(
    readonly step: string,
    message: string,
  ) {
    super(message);
    this.name = 'ScrapeError';
  }
}

/** Skool refused the credentials, or the session did not hold. */
export class SkoolLoginError extends Error {
  override name = 'SkoolLoginError';
}

/** Members of a community loaded so far (cards on the page), as the scrape goes. */
export type OnScraped = (community: Community, members: number) => void;

export async function scrapeSkool(config: ScraperConfig, onScraped: OnScraped = () => undefined): Promise<ScrapeResult> {
  const timeouts = { ...DEFAULT_TIMEOUTS, ...config.timeouts };
  const failAll = (error: string): ScrapeResult => ({
    communities: { ultra: { ok: false, error }, vagus: { ok: false, error } },
  });

  let chromium: Chromium;
  try {
    chromium = await launchChromium(config.chromiumPath, {
      launchTimeoutMs: timeouts.navigationMs,
      ...(config.chromiumSandbox ? { sandbox: config.chromiumSandbox } : {}),
    });
  } catch (err) {
    const error = `Chromium failed to start (${config.chromiumPath}): ${describeError(err).errorMessage}`;
    log('error', 'skool scraper: chromium failed to start', { error });
    return failAll(error);
  }

  try {
    const { browser } = chromium;
    // Skool serves headless browsers differently; look like the Chrome it is.
    const userAgent = (await browser.userAgent()).replace('HeadlessChrome', 'Chrome');
    const open = async (): Promise<Page> => {
      const page = await browser.newPage();
      await page.setUserAgent({ userAgent });
      page.setDefaultTimeout(timeouts.selectorMs);
      page.setDefaultNavigationTimeout(timeouts.navigationMs);
      return page;
    };

    let loginPage: Page | undefined;
    try {
      loginPage = await open();
      await logIn(loginPage, config, timeouts);
    } catch (err) {
      const error = describeError(err).errorMessage;
      log('error', 'skool scraper: login failed', { error });
      return failAll(error);
    } finally {
      await loginPage?.close().catch(() => undefined);
    }

    const results = {} as Record<Community, CommunityScrape>;
    for (const community of COMMUNITIES) {
      const started = Date.now();
      let page: Page | undefined;
      try {
        page = await open();
        const members = await scrapeCommunity(page, community, config, timeouts, onScraped);
        results[community] = { ok: true, members };
        log('info', 'skool scraper: community scraped', { community, members: members.length, durationMs: Date.now() - started });
      } catch (err) {
        const error = describeError(err).errorMessage;
        results[community] = { ok: false, error };
        log('error', 'skool scraper: community failed', { community, error, durationMs: Date.now() - started });
      } finally {
        await page?.close().catch(() => undefined);
      }
    }
    return { communities: results };
  } catch (err) {
    // The browser itself failed (crashed, disconnected) outside any one step.
    const error = `Chromium failed during the scrape: ${describeError(err).errorMessage}`;
    log('error', 'skool scraper: browser failed', { error });
    return failAll(error);
  } finally {
    await chromium.close();
  }
}

/** Runs one step; on failure saves diagnostics and throws an error that names the step. */
async function step<T>(page: Page, config: ScraperConfig, where: string, name: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    await saveDiagnostics(page, config.diagnosticsDir, `${where}-${name}`);
    if (err instanceof SkoolLoginError || err instanceof ScrapeError) throw err;
    const reason = describeError(err).errorMessage;
    if (where === 'login') throw new SkoolLoginError(`Skool login failed at step "${name}": ${reason}`);
    throw new ScrapeError(name, `Skool scrape of ${where} failed at step "${name}": ${reason}`);
  }
}

async function logIn(page: Page, config: ScraperConfig, timeouts: ScrapeTimeouts): Promise<void> {
  const s = selectors.login;
  const loginUrl = new URL(s.path, config.baseUrl).href;
  await step(page, config, 'login', 'open login page', async () => {
    const res = await page.goto(loginUrl, { waitUntil: 'domcontentloaded' });
    if (res && !res.ok()) throw new Error(`HTTP ${res.status()} at ${loginUrl}`);
  });
  await step(page, config, 'login', 'find login form', () => page.waitForSelector(s.email, { visible: true }));
  await step(page, config, 'login', 'submit login', async () => {
    await page.type(s.email, config.email);
    await page.type(s.password, config.password);
    await page.click(s.submit);
    // Both outcomes: an error under the form, or the form gone (a page load or a client-side route).
    await page.waitForFunction(
      (error: string, password: string) => document.querySelector(error) !== null || document.querySelector(password) === null,
      { timeout: timeouts.navigationMs, polling: 100 },
      s.error,
      s.password,
    );
    const refusal = await page.$eval(s.error, (el) => el.textContent?.trim() ?? '').catch(() => null);
    if (refusal !== null) throw new SkoolLoginError(`Skool login failed: ${refusal || 'the login form shows an error'}`);
  });
}

async function scrapeCommunity(page: Page, community: Community, config: ScraperConfig, timeouts: ScrapeTimeouts, onScraped: OnScraped): Promise<Member[]> {
  const s = selectors.members;
  const url = config.membersUrls[community];
  const deadline = Date.now() + timeouts.communityMs;

  await step(page, config, community, 'open members page', async () => {
    const res = await page.goto(url, { waitUntil: 'domcontentloaded' });
    if (new URL(page.url()).pathname === selectors.login.path) {
      throw new SkoolLoginError(`Skool login failed: the session was not accepted (${community} members page redirected to the login page)`);
    }
    if (res && !res.ok()) throw new Error(`HTTP ${res.status()} at ${url}`);
  });
  await step(page, config, community, 'wait for member list', () => page.waitForSelector(s.list));

  await step(page, config, community, 'load all members', async () => {
    const count = () => page.$$eval(s.card, (cards) => cards.length);
    let loaded = await count();
    onScraped(community, loaded);
    let idle = 0;
    for (let scrolls = 0; idle < timeouts.maxIdleScrolls; scrolls++) {
      if (scrolls >= timeouts.maxScrolls) throw new Error(`the list still grew after ${timeouts.maxScrolls} scrolls (${loaded} members)`);
      if (Date.now() > deadline) throw new Error(`gave up after ${timeouts.communityMs} ms with ${loaded} members loaded`);
      await page.evaluate(() => window.scrollTo(0, document.documentElement.scrollHeight));
      const grown = await countOnceGrown(page, s.card, loaded, timeouts.idleScrollMs);
      if (grown !== null) {
        loaded = grown;
        onScraped(community, loaded);
        idle = 0;
        continue;
      }
      if (await loadingShown(page)) {
        // A slow page, not the end of the list: wait for it, within bounds.
        await page.waitForFunction(
          (spinner: string) => {
            const el = document.querySelector(spinner);
            return el === null || getComputedStyle(el).display === 'none';
          },
          { timeout: timeouts.loadingMs, polling: 100 },
          s.loading,
        );
        const now = await count();
        if (now > loaded) {
          loaded = now;
          onScraped(community, loaded);
          idle = 0;
          continue;
        }
      }
      idle += 1;
    }
  });

  const raw = await step(page, config, community, 'extract members', () =>
    page.$$eval(
      s.card,
      // No helper bound to a name in here: tsx/esbuild would wrap it in a `__name` call the page lacks.
      (cards, sel): RawCard[] =>
        cards.map((card) => {
          const shown = [sel.name, sel.email, sel.membershipEnds, sel.joined, sel.bio].map(
            (selector) => card.querySelector(selector)?.textContent?.trim() || null,
          );
          return {
            name: shown[0] ?? null,
            email: shown[1] ?? null,
            paid: card.querySelector(sel.paidBadge) !== null,
            cancelled: card.querySelector(sel.cancelled) !== null,
            endsText: shown[2] ?? null,
            joinedText: shown[3] ?? null,
            profileUrl: card.querySelector<HTMLAnchorElement>(sel.profileLink)?.href || null,
            photoUrl: card.querySelector<HTMLImageElement>(sel.avatar)?.src || null,
            bio: shown[4] ?? null,
          };
        }),
      s,
    ),
  );
  return await step(page, config, community, 'read member cards', async () => toMembers(raw, community));
}

async function loadingShown(page: Page): Promise<boolean> {
  return page.evaluate((spinner: string) => {
    const el = document.querySelector(spinner);
    return el !== null && getComputedStyle(el).display !== 'none';
  }, selectors.members.loading);
}

/** The number of cards once there are more than `loaded`; null if none came within `timeoutMs`. */
async function countOnceGrown(page: Page, card: string, loaded: number, timeoutMs: number): Promise<number | null> {
  try {
    const handle = await page.waitForFunction(
      (selector: string, n: number) => {
        const now = document.querySelectorAll(selector).length;
        return now > n ? now : 0;
      },
      { timeout: timeoutMs, polling: 100 },
      card,
      loaded,
    );
    const now = await handle.jsonValue();
    await handle.dispose();
    return now;
  } catch (err) {
    if (err instanceof TimeoutError) return null;
    throw err;
  }
}

async function saveDiagnostics(page: Page, dir: string, label: string): Promise<void> {
  const base = join(dir, `${new Date().toISOString().replace(/[:.]/g, '-')}-${label.replace(/[^\w-]+/g, '-')}`);
  const saved: string[] = [];
  // Never let diagnostics hide the failure they document: each part is best-effort and bounded.
  const attempt = async (what: string, save: () => Promise<void>, tries = 1) => {
    for (let i = 1; i <= tries; i++) {
      try {
        await withTimeout(save(), 10_000);
        saved.push(what);
        return;
      } catch (err) {
        // A navigation still committing destroys the page's context mid-read; the next try sees the new page.
        if (i === tries) log('warn', 'skool scraper: could not save diagnostics', { label, part: what, ...describeError(err) });
        else await new Promise((resolve) => setTimeout(resolve, 500));
      }
    }
  };
  try {
    await mkdir(dir, { recursive: true });
  } catch (err) {
    log('warn', 'skool scraper: could not create the diagnostics folder', { dir, ...describeError(err) });
    return;
  }
  // Freeze the page as it failed: a pending navigation would otherwise replace it while we read it.
  await withTimeout(
    page.createCDPSession().then(async (cdp) => {
      await cdp.send('Page.stopLoading');
      await cdp.detach();
    }),
    5_000,
  ).catch(() => undefined);
  await attempt('screenshot', async () => {
    await page.screenshot({ path: `${base}.png` });
  });
  await attempt('html', async () => writeFile(`${base}.html`, await page.content()), 3);
  if (saved.length > 0)
    log('info', 'skool scraper: diagnostics saved', { files: saved.map((p) => `${base}.${p === 'html' ? 'html' : 'png'}`), url: page.url() });
}

function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    work,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}
