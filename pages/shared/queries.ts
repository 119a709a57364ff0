import { queryOptions } from '@tanstack/react-query';
import { api, call } from '../api/client';

const loadMe = () => call(api.api.users.me.$get());
export type Me = Awaited<ReturnType<typeof loadMe>>;
/** The signed-in user (GET /api/users/me): their role, tier, usage and limits. */
export const meQuery = queryOptions({ queryKey: ['me'], queryFn: loadMe });

const loadSession = (id: string) => call(api.api.sessions[':id'].$get({ param: { id } }));
export type SessionDetail = Awaited<ReturnType<typeof loadSession>>;
/** One session as the reader may see it (GET /api/sessions/:id): the client's report, or the coach's review. */
export const sessionQuery = (id: string) => queryOptions({ queryKey: ['session', id], queryFn: () => loadSession(id) });

export const loadRoomState = (sessionId: string) => call(api.api.rooms[':sessionId'].$get({ param: { sessionId } }));
export type RoomState = Awaited<ReturnType<typeof loadRoomState>>;
/** A live room's state (GET /api/rooms/:id): who is in it, the timer, the mute, the end. */
export const roomStateQuery = (sessionId: string) => queryOptions({ queryKey: ['room-state', sessionId], queryFn: () => loadRoomState(sessionId) });
