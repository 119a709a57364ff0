/**
 * One Skool sync run: scrape both communities, then hand the results to the outbox as member chunks
 * (at most 500 members each) and one final message. A community that failed sends no chunks and is
 * reported in the final message; the Worker decides what the results may change.
 */
import { describeError, log } from '@hybrid-coach/shared/log';
import type { Outbox } from '../lib/outbox';
import {
  COMMUNITIES,
  type Community,
  type CommunityOutcome,
  type FinalMessage,
  MAX_MEMBERS_PER_CHUNK,
  type MembersMessage,
  type StartRequest,
} from './contract';
import { type ProgressOptions, startProgress } from './progress';
import type { OnScraped, ScrapeResult } from './scraper';

export interface SyncDeps {
  /** Scrapes both communities, telling `onScraped` the members loaded so far. */
  scrape: (onScraped: OnScraped) => Promise<ScrapeResult>;
  outbox: Pick<Outbox, 'enqueue'>;
  chunkSize?: number;
  /** Reports progress to the start request's resultUrl (best-effort, see progress.ts); none without it. */
  progress?: Omit<ProgressOptions, 'url' | 'runId'>;
}

/** The Worker refuses (400, for good) a final message whose errors are longer than this. */
const MAX_ERROR_LENGTH = 2000;
const clamp = (error: string) => (error.length <= MAX_ERROR_LENGTH ? error : `${error.slice(0, MAX_ERROR_LENGTH - 1)}…`);

/** Runs the sync for `request` and resolves with the final message once every message is stored. */
export async function runSkoolSync(request: StartRequest, deps: SyncDeps): Promise<FinalMessage> {
  const started = Date.now();
  const chunkSize = Math.min(deps.chunkSize ?? MAX_MEMBERS_PER_CHUNK, MAX_MEMBERS_PER_CHUNK);
  log('info', 'skool sync: started', { runId: request.runId, trigger: request.trigger });

  const progress = deps.progress ? startProgress({ ...deps.progress, url: request.resultUrl, runId: request.runId }) : null;
  let result: ScrapeResult;
  try {
    result = await deps.scrape((community, members) => progress?.scraped(community, members));
  } catch (err) {
    // The scraper reports failures in its result; a throw is a bug, still worth a final message.
    const error = `Skool scrape crashed: ${describeError(err).errorMessage}`;
    log('error', 'skool sync: scrape crashed', { runId: request.runId, ...describeError(err) });
    result = { communities: { ultra: { ok: false, error }, vagus: { ok: false, error } } };
  }

  // The scrape is over: the last counts go out (what was found), then the results go through the outbox.
  for (const c of COMMUNITIES) {
    const scraped = result.communities[c];
    if (scraped.ok) progress?.scraped(c, scraped.members.length);
  }
  await progress?.stop();

  const communities = {} as Record<Community, CommunityOutcome>;
  for (const community of COMMUNITIES) {
    const scraped = result.communities[community];
    if (!scraped.ok) {
      communities[community] = { ok: false, membersFound: 0, error: clamp(scraped.error) };
      continue;
    }
    const count = Math.max(1, Math.ceil(scraped.members.length / chunkSize));
    for (let index = 0; index < count; index++) {
      const message: MembersMessage = {
        runId: request.runId,
        kind: 'members',
        community,
        chunk: { index, count },
        members: scraped.members.slice(index * chunkSize, (index + 1) * chunkSize),
      };
      await deps.outbox.enqueue(request.resultUrl, `${request.runId}:${community}:${index}`, message);
    }
    communities[community] = { ok: true, membersFound: scraped.members.length, error: null };
  }

  const failed = COMMUNITIES.filter((c) => !communities[c].ok);
  const errors = [...new Set(failed.map((c) => communities[c].error))];
  const final: FinalMessage = {
    runId: request.runId,
    kind: 'final',
    ok: failed.length === 0,
    // The same error for both (a failed login) is said once; otherwise each names its community.
    error:
      failed.length === 0
        ? null
        : clamp(
            errors.length === 1 && failed.length === COMMUNITIES.length ? (errors[0] ?? '') : failed.map((c) => `${c}: ${communities[c].error}`).join('; '),
          ),
    durationMs: Date.now() - started,
    communities,
  };
  await deps.outbox.enqueue(request.resultUrl, `${request.runId}:final`, final);
  log(final.ok ? 'info' : 'error', 'skool sync: finished', {
    runId: request.runId,
    ok: final.ok,
    error: final.error,
    durationMs: final.durationMs,
    ultra: communities.ultra.membersFound,
    vagus: communities.vagus.membersFound,
  });
  return final;
}
