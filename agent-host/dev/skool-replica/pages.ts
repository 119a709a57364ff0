/**
 * The replica's HTML, shaped like Skool's: a styled-components app whose class names carry a
 * component name plus build hashes, nested wrappers, no test ids. The scraper must find its way
 * through this with the selectors in ../selectors.ts, as it would on the real site.
 */
import type { Community } from '../../src/skool/contract';
import type { ReplicaMember } from './data';

/** Styled-components class names: `styled__<Component>-sc-<hash>-<n> <generated>`. */
const sc = (component: string, hash: string, n: number, generated: string) => `styled__${component}-sc-${hash}-${n} ${generated}`;

const C = {
  page: sc('PageWrapper', '1h4n0d2', 0, 'kSxWqz'),
  header: sc('HeaderWrapper', '1h4n0d2', 1, 'fMnBqT'),
  headerInner: sc('HeaderInner', '1h4n0d2', 2, 'jUgkCz'),
  logo: sc('LogoLink', '7mv1ga', 0, 'bRtdnK'),
  navTabs: sc('NavTabs', '7mv1ga', 3, 'hQkZpa'),
  navTab: sc('NavTab', '7mv1ga', 4, 'cYwLfE'),
  navTabActive: sc('NavTab', '7mv1ga', 4, 'cYwLfE dPzMkx'),
  content: sc('ContentWrapper', '1h4n0d2', 5, 'eVnBxJ'),
  main: sc('MainColumn', '1h4n0d2', 6, 'gTrHkW'),
  aside: sc('SideColumn', '1h4n0d2', 7, 'iWcMsd'),
  filterBar: sc('MembersFilterBar', 'q2u8rk', 0, 'lPxVbn'),
  filterButton: sc('FilterButton', 'q2u8rk', 1, 'mTqZrc'),
  filterButtonActive: sc('FilterButton', 'q2u8rk', 1, 'mTqZrc nHsWde'),
  list: sc('MembersListWrapper', 'q2u8rk', 2, 'oJbYkf'),
  card: sc('MemberItemWrapper', 'q2u8rk', 3, 'pKdXte'),
  cardInner: sc('MemberItemInner', 'q2u8rk', 4, 'qZfRwa'),
  avatarCol: sc('MemberItemAvatar', 'q2u8rk', 5, 'rWvGms'),
  avatarWrapper: sc('AvatarWrapper', '1vw9a7j', 0, 'sHcLpo'),
  avatarImage: sc('AvatarImage', '1vw9a7j', 1, 'tBqJyu'),
  avatarInitials: sc('AvatarInitials', '1vw9a7j', 2, 'uXzKnv'),
  levelBadge: sc('LevelBadge', '1vw9a7j', 3, 'vMpQrd'),
  body: sc('MemberItemContent', 'q2u8rk', 6, 'wYtHcs'),
  nameRow: sc('MemberItemName', 'q2u8rk', 7, 'xGeLbk'),
  nameLink: sc('ChildrenLink', '1brgbbt', 1, 'yPkWtf'),
  nameText: sc('UserNameText', '24o0l3', 9, 'zDqNmr'),
  handle: sc('MemberHandle', 'q2u8rk', 8, 'aRmBvq'),
  paidBadge: sc('PaidBadge', '3ym0xd', 0, 'bJwNcz'),
  freeBadge: sc('FreeBadge', '3ym0xd', 1, 'cTyPkh'),
  bio: sc('MemberBio', 'q2u8rk', 9, 'dLhXsw'),
  meta: sc('MemberMeta', 'q2u8rk', 10, 'eNqFvb'),
  metaItem: sc('MemberMetaItem', 'q2u8rk', 11, 'fWzRgc'),
  joined: sc('MemberJoinedDate', 'q2u8rk', 12, 'gKsTmd'),
  email: sc('MemberEmail', 'q2u8rk', 13, 'hBvYqe'),
  cancelledBox: sc('MembershipNotice', '3ym0xd', 2, 'iPcWrf'),
  cancelledTag: sc('CancelledTag', '3ym0xd', 3, 'jQxMsg'),
  ends: sc('MembershipEnds', '3ym0xd', 4, 'kZnDth'),
  actions: sc('MemberActions', 'q2u8rk', 14, 'lFgHui'),
  button: sc('ButtonWrapper', 'cl9uam', 0, 'mVbJvj'),
  spinner: sc('LoadingSpinner', '5k1sxv', 0, 'nXrLwk'),
  loginCard: sc('AuthCard', 'fz0p4a', 0, 'oCtNxl'),
  form: sc('LoginForm', 'fz0p4a', 1, 'pMwQym'),
  inputWrapper: sc('InputWrapper', 'fz0p4a', 2, 'qHsRzn'),
  input: sc('Input', 'fz0p4a', 3, 'rVkTao'),
  formError: sc('FormError', 'fz0p4a', 4, 'sJyUbp'),
  communityCard: sc('GroupCard', '9dw2ce', 0, 'tLmVcq'),
} as const;

const STYLE = `
body{margin:0;font-family:Roboto,-apple-system,"Segoe UI",sans-serif;background:#f8f7f5;color:#202124}
a{color:inherit;text-decoration:none}
[class*="styled__HeaderWrapper"]{background:#fff;border-bottom:1px solid #e4e4e4;position:sticky;top:0;z-index:2}
[class*="styled__HeaderInner"]{max-width:1075px;margin:0 auto;display:flex;align-items:center;gap:24px;padding:12px 16px}
[class*="styled__NavTabs"]{display:flex;gap:16px;font-size:15px}
[class*="styled__ContentWrapper"]{max-width:1075px;margin:0 auto;display:flex;gap:24px;padding:24px 16px}
[class*="styled__MainColumn"]{flex:1}
[class*="styled__SideColumn"]{width:272px}
[class*="styled__MemberItemWrapper"]{background:#fff;border:1px solid #e4e4e4;border-radius:10px;margin-bottom:12px;padding:16px}
[class*="styled__MemberItemInner"]{display:flex;gap:16px}
[class*="styled__AvatarWrapper"]{width:64px;height:64px;border-radius:50%;overflow:hidden;background:#909090;position:relative}
[class*="styled__AvatarWrapper"] img{width:64px;height:64px}
[class*="styled__PaidBadge"]{background:#fce9a8;border-radius:4px;padding:1px 6px;font-size:12px}
[class*="styled__FreeBadge"]{background:#eee;border-radius:4px;padding:1px 6px;font-size:12px}
[class*="styled__MembershipNotice"]{color:#b3261e;font-size:13px;margin-top:6px}
[class*="styled__LoadingSpinner"]{display:none;margin:24px auto;width:32px;height:32px;border:3px solid #ddd;border-top-color:#555;border-radius:50%;animation:spin 1s linear infinite}
[class*="styled__LoadingSpinner"].is-loading{display:block}
@keyframes spin{to{transform:rotate(360deg)}}
[class*="styled__AuthCard"]{max-width:380px;margin:80px auto;background:#fff;border-radius:10px;padding:32px;border:1px solid #e4e4e4}
[class*="styled__InputWrapper"]{margin-bottom:12px}
[class*="styled__Input"]{width:100%;box-sizing:border-box;padding:12px;border:1px solid #ccc;border-radius:6px}
[class*="styled__FormError"]{color:#b3261e;margin-bottom:12px}
`;

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** How Skool shows a date: "Apr 12, 2023". */
export function displayDate(isoDay: string): string {
  const [y, m, d] = isoDay.split('-').map(Number);
  return `${MONTHS[(m ?? 1) - 1]} ${d}, ${y}`;
}

function layout(title: string, inner: string, script = ''): string {
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${escapeHtml(title)}</title><style>${STYLE}</style></head>
<body><div id="__next"><div class="${C.page}">${inner}</div></div>${script ? `<script>${script}</script>` : ''}</body></html>`;
}

function header(active: string | null, community: Community | null): string {
  const tabs = ['Community', 'Classroom', 'Calendar', 'Members', 'Map', 'Leaderboards', 'About'];
  const nav = community
    ? `<nav class="${C.navTabs}">${tabs
        .map((t) => {
          const href = t === 'Members' ? `/${community}/-/members` : `/${community}${t === 'Community' ? '' : `/${t.toLowerCase()}`}`;
          return `<a class="${t === active ? C.navTabActive : C.navTab}" href="${href}"><span>${t}</span></a>`;
        })
        .join('')}</nav>`
    : '';
  return `<header class="${C.header}"><div class="${C.headerInner}"><a class="${C.logo}" href="/"><span>skool</span></a>${nav}</div></header>`;
}

export function loginPage(options: { error: string | null; email: string; next: string }): string {
  const error = options.error ? `<div class="${C.formError}" role="alert"><span>${escapeHtml(options.error)}</span></div>` : '';
  return layout(
    'Log in | Skool',
    `${header(null, null)}<div class="${C.loginCard}"><h1><span>Log in to Skool</span></h1>
<form class="${C.form}" method="post" action="/login?next=${encodeURIComponent(options.next)}">
${error}
<div class="${C.inputWrapper}"><input class="${C.input}" id="email" name="email" type="email" placeholder="Email" autocomplete="username" value="${escapeHtml(options.email)}"></div>
<div class="${C.inputWrapper}"><input class="${C.input}" id="password" name="password" type="password" placeholder="Password" autocomplete="current-password"></div>
<button class="${C.button}" type="submit"><span>LOG IN</span></button>
</form><p><a href="/signup">Sign up for free</a></p></div>`,
  );
}

export function homePage(communities: readonly Community[]): string {
  const cards = communities
    .map((c) => `<a class="${C.communityCard}" href="/${c}/-/members"><div><span>${c === 'ultra' ? 'Ultra Skool' : 'Vagus Skool'}</span></div></a>`)
    .join('');
  return layout('Skool', `${header(null, null)}<div class="${C.content}"><div class="${C.main}">${cards}</div></div>`);
}

function initials(name: string): string {
  return [...name.trim()]
    .filter((_, i, chars) => i === 0 || chars[i - 1] === ' ')
    .slice(0, 2)
    .join('')
    .toUpperCase();
}

/** One member card; `today` (`YYYY-MM-DD`) decides between "Membership ends" and "Membership ended". */
export function memberCard(m: ReplicaMember, community: Community, today: string): string {
  const avatar = m.hasPhoto
    ? `<img class="${C.avatarImage}" src="/assets/f/${m.id}/avatar.svg" alt="${escapeHtml(m.name)}" loading="lazy" width="64" height="64">`
    : `<div class="${C.avatarInitials}"><span>${escapeHtml(initials(m.name))}</span></div>`;
  const badge = m.paid ? `<span class="${C.paidBadge}">Paid</span>` : `<span class="${C.freeBadge}">Free</span>`;
  const ends =
    m.status === 'cancelled' && m.membershipEndsAt
      ? `<div class="${C.cancelledBox}"><span class="${C.cancelledTag}">Cancelled</span> · <span class="${C.ends}">Membership ${
          m.membershipEndsAt >= today ? 'ends' : 'ended'
        } ${displayDate(m.membershipEndsAt)}</span></div>`
      : '';
  const email = m.email === null ? '' : `<div class="${C.metaItem}"><span class="${C.email}">\n            ${escapeHtml(m.email)}\n          </span></div>`;
  const bio = m.bio === null ? '' : `<div class="${C.bio}"><span>${escapeHtml(m.bio)}</span></div>`;
  return `<div class="${C.card}"><div class="${C.cardInner}">
  <div class="${C.avatarCol}"><a href="/@${m.handle}"><div class="${C.avatarWrapper}">${avatar}</div></a><div class="${C.levelBadge}"><span>${m.level}</span></div></div>
  <div class="${C.body}">
    <div class="${C.nameRow}"><a class="${C.nameLink}" href="/@${m.handle}"><span class="${C.nameText}">${escapeHtml(m.name)}</span></a> ${badge}</div>
    <div class="${C.handle}"><span>@${escapeHtml(m.handle)}</span></div>
    ${bio}
    <div class="${C.meta}"><div class="${C.metaItem}"><svg width="14" height="14" viewBox="0 0 24 24"><circle cx="12" cy="12" r="10"/></svg><span class="${C.joined}">Joined ${displayDate(m.joinedAt)}</span></div>${email}</div>
    ${ends}
  </div>
  <div class="${C.actions}"><button class="${C.button}" type="button" data-community="${community}"><span>CHAT</span></button></div>
</div></div>`;
}

/** The members page: the first page of cards server-rendered, the rest fetched as the reader scrolls. */
export function membersPage(options: { community: Community; cards: string; page: number; total: number }): string {
  const title = options.community === 'ultra' ? 'Ultra Skool' : 'Vagus Skool';
  const script = `(function(){
  var page = ${options.page}, loading = false, done = false;
  var list = document.querySelector('[class*="styled__MembersListWrapper"]');
  var spinner = document.querySelector('[class*="styled__LoadingSpinner"]');
  function nearBottom(){ return window.innerHeight + window.scrollY >= document.documentElement.scrollHeight - 400; }
  function check(){ if (!loading && !done && nearBottom()) load(); }
  function load(){
    loading = true; spinner.classList.add('is-loading');
    fetch(location.pathname + '?page=' + (page + 1), { headers: { 'X-Requested-With': 'XMLHttpRequest' }, credentials: 'same-origin' })
      .then(function(r){ if (!r.ok) throw new Error('HTTP ' + r.status); return r.text(); })
      .then(function(html){
        if (!html.trim()) { done = true; return; }
        list.insertAdjacentHTML('beforeend', html); page += 1;
      })
      .catch(function(){ /* tried again on the next scroll */ })
      .then(function(){ loading = false; spinner.classList.remove('is-loading'); setTimeout(check, 50); });
  }
  window.addEventListener('scroll', check, { passive: true });
  window.addEventListener('resize', check);
  check();
})();`;
  return layout(
    `Members · ${title}`,
    `${header('Members', options.community)}<div class="${C.content}"><div class="${C.main}">
<div class="${C.filterBar}"><button class="${C.filterButtonActive}" type="button"><span>Members ${options.total}</span></button><button class="${C.filterButton}" type="button"><span>Admins 2</span></button><button class="${C.filterButton}" type="button"><span>Online 7</span></button></div>
<div class="${C.list}">${options.cards}</div>
<div class="${C.spinner}" aria-label="Loading"></div>
</div><aside class="${C.aside}"><div><span>${title}</span></div></aside></div>`,
    script,
  );
}

export function errorPage(status: number): string {
  return layout(
    'Skool',
    `${header(null, null)}<div class="${C.content}"><div class="${C.main}"><h1><span>Something went wrong (${status})</span></h1></div></div>`,
  );
}

export function avatarSvg(name: string): string {
  const hue = [...name].reduce((h, ch) => (h * 31 + (ch.codePointAt(0) ?? 0)) % 360, 7);
  return `<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64"><rect width="64" height="64" fill="hsl(${hue},45%,55%)"/><text x="32" y="40" font-size="24" text-anchor="middle" fill="#fff">${escapeHtml(initials(name))}</text></svg>`;
}
