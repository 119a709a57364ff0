import { env, SELF } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import worker from '../index';

describe('health and readiness', () => {
  it('answers health with 200', async () => {
    const res = await SELF.fetch('http://api.test/api/health');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ success: true, data: { status: 'ok' } });
  });

  it('is ready when D1 answers', async () => {
    const res = await SELF.fetch('http://api.test/api/ready');
    expect(res.status).toBe(200);
  });

  it('is not ready (503, one error shape) when D1 fails', async () => {
    const broken = {
      prepare: () => ({
        first: () => Promise.reject(new Error('D1_ERROR: no such database')),
      }),
    } as unknown as D1Database;
    const ctx = { waitUntil() {}, passThroughOnException() {}, props: {} } as unknown as ExecutionContext;
    const res = await worker.fetch(new Request('http://api.test/api/ready'), { ...env, DB: broken }, ctx);
    expect(res.status).toBe(503);
    expect(await res.json()).toMatchObject({ success: false, error: { code: 'SERVICE_UNAVAILABLE' } });
  });

  it('is not ready (503, naming the setting) when mail is half-configured', async () => {
    const ctx = { waitUntil() {}, passThroughOnException() {}, props: {} } as unknown as ExecutionContext;
    const res = await worker.fetch(new Request('http://api.test/api/ready'), { ...env, SMTP_PASSWORD: '' }, ctx);
    expect(res.status).toBe(503);
    const json = (await res.json()) as { error: { code: string; message: string } };
    expect(json.error.code).toBe('SERVICE_UNAVAILABLE');
    expect(json.error.message).toMatch(/SMTP_USERNAME and SMTP_PASSWORD go together/);
  });
});
