import { describe, expect, it } from 'vitest';
import { sessionOfJob } from '../../src/agent/dispatch';

const meta = (v: unknown) => JSON.stringify(v);

describe('a job takes only the session of the room it is in', () => {
  it('answers the session, client and room when the metadata names the job’s own room', () => {
    expect(sessionOfJob('session-s1', meta({ sessionId: 's1', clientId: 'c1' }))).toEqual({ sessionId: 's1', clientId: 'c1', roomName: 'session-s1' });
  });

  it('refuses metadata naming another session than the room (a forged dispatch), and anything malformed', () => {
    expect(sessionOfJob('session-mine', meta({ sessionId: 'someone-else', clientId: 'c2' }))).toBeNull();
    expect(sessionOfJob('lobby', meta({ sessionId: 'lobby', clientId: 'c2' }))).toBeNull();
    expect(sessionOfJob(undefined, meta({ sessionId: 's1', clientId: 'c1' }))).toBeNull();
    expect(sessionOfJob('session-s1', meta({ sessionId: 's1' }))).toBeNull();
    expect(sessionOfJob('session-s1', 'not json')).toBeNull();
    expect(sessionOfJob('session-s1', 'null')).toBeNull();
  });
});
