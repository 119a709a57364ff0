import { queryOptions } from '@tanstack/react-query';
import { api, call } from '../api/client';

export const loadProfile = () => call(api.api.users.me.profile.$get());
export type Profile = Awaited<ReturnType<typeof loadProfile>>;
export const profileQuery = queryOptions({ queryKey: ['profile'], queryFn: loadProfile });
export type ProfilePatch = Parameters<typeof api.api.users.me.profile.$patch>[0]['json'];
export const saveProfile = (json: ProfilePatch) => call(api.api.users.me.profile.$patch({ json }));

export const MOODS = [
  { value: 1, label: '1 · Very low' },
  { value: 2, label: '2 · Low' },
  { value: 3, label: '3 · Okay' },
  { value: 4, label: '4 · Good' },
  { value: 5, label: '5 · Very good' },
] as const;
