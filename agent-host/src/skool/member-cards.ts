/**
 * From what a member card shows (read in the page by the scraper) to the contract's Member: dates
 * parsed from their display form, and refusals for lists that look like the page layout changed.
 */
import { log } from '@hybrid-coach/shared/log';
import type { Community, Member } from './contract';
import { patterns } from './selectors';

/** What a card shows, read in the page; turned into a Member in Node. */
export interface RawCard {
  name: string | null;
  email: string | null;
  paid: boolean;
  cancelled: boolean;
  endsText: string | null;
  joinedText: string | null;
  profileUrl: string | null;
  photoUrl: string | null;
  bio: string | null;
}

/** Turns what the cards show into members; refuses a list that looks like the layout changed. */
export function toMembers(raw: readonly RawCard[], community: Community): Member[] {
  if (raw.length === 0) throw new Error('no member cards found (has the page layout changed? see selectors.ts)');
  if (raw.every((c) => c.email === null)) {
    throw new Error(`no member card shows an email: is SKOOL_EMAIL an admin of ${community}?`);
  }
  let undated = 0;
  const members = raw.map((card, i): Member => {
    if (!card.name) throw new Error(`member card #${i + 1} has no name`);
    const joinedAt = parseShownDate(card.joinedText, patterns.joined);
    if (joinedAt === null) undated += 1;
    const membershipEndsAt = card.cancelled ? parseShownDate(card.endsText, patterns.membershipEnds) : null;
    if (card.cancelled && membershipEndsAt === null) {
      log('warn', 'skool scraper: a cancelled member shows no end date', { community, card: i + 1 });
    }
    return {
      email: card.email,
      name: card.name,
      paid: card.paid,
      status: card.cancelled ? 'cancelled' : 'active',
      joinedAt,
      membershipEndsAt,
      profileUrl: card.profileUrl,
      photoUrl: card.photoUrl,
      bio: card.bio,
    };
  });
  if (undated > 0) log('warn', 'skool scraper: members without a readable join date', { community, count: undated });
  return members;
}

const MONTHS: Record<string, number> = { jan: 1, feb: 2, mar: 3, apr: 4, may: 5, jun: 6, jul: 7, aug: 8, sep: 9, oct: 10, nov: 11, dec: 12 };

/** "Joined Apr 12, 2023" → "2023-04-12" (a calendar date, no time zone); null if it does not read. */
export function parseShownDate(text: string | null, pattern: RegExp): string | null {
  const shown = text ? pattern.exec(text)?.[1] : undefined;
  const parts = shown ? /^([A-Za-z]{3})[a-z]*\.? (\d{1,2}), (\d{4})$/.exec(shown) : null;
  if (!parts) return null;
  const month = MONTHS[(parts[1] as string).toLowerCase()];
  const day = Number(parts[2]);
  const year = Number(parts[3]);
  if (!month || day < 1 || day > 31) return null;
  const date = new Date(Date.UTC(year, month - 1, day));
  if (date.getUTCDate() !== day) return null;
  return date.toISOString().slice(0, 10);
}
