import type { Me } from '../shared/queries';

export type { Me };

/** Coaches and admins use this portal; everyone else belongs in the client portal. */
export const isCoachLike = (role: Me['role']): boolean => role === 'COACH' || role === 'ADMIN';
