import { initializeLogger, log } from '@livekit/agents';
import { describe, expect, it, vi } from 'vitest';
import { MASKED, maskPiiInAgentLogs, maskPiiInOutput } from '../../src/agent/pii-logs';

describe("agents-js's log lines", () => {
  const said = 'I have not slept properly since the accident';

  it('keep what happened but not what was said: every lk.pii field is masked', () => {
    const line = JSON.stringify({ level: 30, jobID: 'AJ_1', 'lk.pii.new_transcript': said, transcriptConfidence: 0.99, msg: 'starting preemptive generation' });
    const other = JSON.stringify({ level: 30, msg: 'registered worker' });
    const out = maskPiiInOutput(`${line}\n${other}\n`);
    expect(out).not.toContain(said);
    const [masked, kept] = out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(masked).toEqual({ level: 30, jobID: 'AJ_1', 'lk.pii.new_transcript': MASKED, transcriptConfidence: 0.99, msg: 'starting preemptive generation' });
    expect(kept).toEqual({ level: 30, msg: 'registered worker' });
    // Half a line (no JSON) is not printed at all.
    expect(maskPiiInOutput(`{"lk.pii.message":"${said}`)).not.toContain(said);
  });

  it('are masked on their way out of the process, from loggers made before and after', async () => {
    initializeLogger({ pretty: false, level: 'info' });
    const before = log().child({ jobID: 'AJ_1' });
    const write = vi.fn((_chunk: unknown) => true);
    const real = process.stdout.write;
    process.stdout.write = write as unknown as typeof process.stdout.write;
    try {
      maskPiiInAgentLogs();
      maskPiiInAgentLogs();
      before.info({ 'lk.pii.new_transcript': said }, 'starting preemptive generation');
      log().child({ speech_id: 'speech_1' }).info({ 'lk.pii.message': said }, 'playout completed without interruption');
    } finally {
      process.stdout.write = real;
    }
    const out = write.mock.calls.map(([chunk]) => String(chunk)).join('');
    expect(out).toContain('starting preemptive generation');
    expect(out).toContain('playout completed without interruption');
    expect(out).not.toContain(said);
    expect(write).toHaveBeenCalledTimes(2);
  });
});
