import { api, call } from '../api/client';

export const loadMe = () => call(api.api.users.me.$get());
export type Me = Awaited<ReturnType<typeof loadMe>>;

/** Coaches and admins use this portal; everyone else belongs in the client portal. */
export const isCoachLike = (role: Me['role']): boolean => role === 'COACH' || role === 'ADMIN';
