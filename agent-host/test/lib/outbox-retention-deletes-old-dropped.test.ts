import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { deleteOldDropped, droppedCount } from '../../src/lib/outbox';
import { deleteOldSessionDropped, sessionDroppedCount, sessionOutboxDepth } from '../../src/lib/session-outboxes';
import { leaveDropped, leaveInOutbox } from '../helpers';
import { tempDir } from '../skool/helpers';

const DAY = 24 * 60 * 60_000;
const URL = 'http://127.0.0.1:9/api/webhooks/agent/transcript';

describe('the retention sweep of what the outboxes set aside', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  it('deletes dropped messages older than the retention, keeps newer ones and never touches the queue', async () => {
    const dir = await tempDir('retention');
    cleanups.push(dir.remove);
    const agent = join(dir.path, 'agent');
    const skool = join(dir.path, 'skool');
    const oldA = await leaveDropped(join(agent, 'session-a'), URL, ['session-a:old'], 31 * DAY);
    const newA = await leaveDropped(join(agent, 'session-a'), URL, ['session-a:new'], 29 * DAY);
    await leaveDropped(join(agent, 'session-b'), URL, ['session-b:old-1', 'session-b:old-2'], 40 * DAY);
    // Waiting to be delivered, however old: not the sweep's to delete.
    await leaveInOutbox(join(agent, 'session-b'), URL, ['session-b:pending']);
    await leaveDropped(skool, URL, ['run-1:old'], 31 * DAY);
    const newSkool = await leaveDropped(skool, URL, ['run-2:new'], DAY);
    expect([await sessionDroppedCount(agent), await droppedCount(skool)]).toEqual([4, 2]);
    expect(oldA).toHaveLength(1);

    expect(await deleteOldSessionDropped(agent, 30 * DAY)).toBe(3);
    expect(await deleteOldDropped(skool, 30 * DAY)).toBe(1);

    expect(await readdir(join(agent, 'session-a', 'dropped'))).toEqual(newA);
    expect(await readdir(join(agent, 'session-b', 'dropped'))).toEqual([]);
    expect(await readdir(join(skool, 'dropped'))).toEqual(newSkool);
    expect([await sessionDroppedCount(agent), await droppedCount(skool)]).toEqual([1, 1]);
    expect(await sessionOutboxDepth(agent)).toBe(1);
    // A second pass finds nothing more.
    expect(await deleteOldSessionDropped(agent, 30 * DAY)).toBe(0);
  });
});
