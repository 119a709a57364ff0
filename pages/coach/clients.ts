import { api, call } from '../api/client';

export const loadClients = () => call(api.api.coach.clients.$get({ query: {} }));
export type ClientItem = Awaited<ReturnType<typeof loadClients>>[number];

export const loadClient = (clientId: string) => call(api.api.coach.clients[':clientId'].$get({ param: { clientId } }));
export type ClientDetail = Awaited<ReturnType<typeof loadClient>>;
export type ClientSession = ClientDetail['sessions'][number];

export const loadLive = () => call(api.api.coach.live.$get());
export type LiveSession = Awaited<ReturnType<typeof loadLive>>[number];

/** The client's page (their data sidebar in full). */
export const clientPath = (clientId: string): string => `/clients/${encodeURIComponent(clientId)}`;

export const TIER_LABELS: Record<ClientItem['tier'], string> = { FREE: 'Free', VAGUS_MEMBER: 'Vagus member', PREMIUM: 'Premium' };

/** The onboarding mood scale, as the client portal words it. */
export const MOOD_LABELS: Record<number, string> = { 1: 'Very low', 2: 'Low', 3: 'Okay', 4: 'Good', 5: 'Very good' };
