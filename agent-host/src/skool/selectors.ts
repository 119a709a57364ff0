/**
 * Everything the scraper knows about Skool's markup, in one place: when the site changes, this file
 * changes. Skool is a styled-components app: class names look like `styled__MemberItemWrapper-sc-1x2y3z-0 aBcDe`,
 * where the hash suffixes change between deployments, so selectors match the stable component-name
 * part (`[class*="styled__MemberItemWrapper"]`).
 */
export const selectors = {
  login: {
    path: '/login',
    email: 'input[name="email"]',
    password: 'input[name="password"]',
    submit: 'button[type="submit"]',
    /** Shown under the form when the credentials are refused. */
    error: '[class*="styled__FormError"]',
  },
  members: {
    list: '[class*="styled__MembersListWrapper"]',
    /** One per member; the list only grows as the page is scrolled. */
    card: '[class*="styled__MemberItemWrapper"]',
    /** Visible while the next page of members is being fetched. */
    loading: '[class*="styled__LoadingSpinner"]',
    // Inside a card:
    name: '[class*="styled__UserNameText"]',
    profileLink: '[class*="styled__MemberItemName"] a[href]',
    email: '[class*="styled__MemberEmail"]',
    paidBadge: '[class*="styled__PaidBadge"]',
    cancelled: '[class*="styled__CancelledTag"]',
    membershipEnds: '[class*="styled__MembershipEnds"]',
    joined: '[class*="styled__MemberJoinedDate"]',
    avatar: '[class*="styled__AvatarWrapper"] img',
    bio: '[class*="styled__MemberBio"]',
  },
} as const;

/** Texts on the page that carry a date, shown like "Apr 12, 2023". */
export const patterns = {
  joined: /Joined\s+([A-Z][a-z]{2,8}\.? \d{1,2}, \d{4})/,
  membershipEnds: /Membership end(?:s|ed)\s+([A-Z][a-z]{2,8}\.? \d{1,2}, \d{4})/,
} as const;

export type Selectors = typeof selectors;
