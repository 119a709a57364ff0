/**
 * The load this agent-host reports to livekit-server, counted in rooms rather than the machine's CPU.
 *
 * Why: agents-js reports the whole machine's CPU use by default, and livekit-server 1.13.5 scores a
 * worker `max(0, 0.7 − load)` (pkg/service/agentservice.go); at a score of 0 the job request is refused
 * as "no servers available" and the dispatch is left with no job, never retried (seen: a room that got no
 * AI while the 2-core machine was busy; notes in docs/operations.md, "Rooms per agent-host"). CPU spikes
 * while a room starts or a build runs say nothing about whether one more room fits; the number of rooms
 * does. So the load is 0.7 × rooms / maxRooms: under 0.7 (eligible) until the host holds `maxRooms`
 * rooms, and the worker marks itself full (loadThreshold 0.7) exactly then.
 */
export const LOAD_THRESHOLD = 0.7;

export function roomLoad(activeRooms: number, maxRooms: number): number {
  return Math.min(1, (LOAD_THRESHOLD * activeRooms) / maxRooms);
}
