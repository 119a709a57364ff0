import { SELF } from 'cloudflare:test';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { bindingCookie, body, createUser, get, ipHeader, PASSWORD, post } from '../test/helpers';

afterEach(() => {
  vi.restoreAllMocks();
});

const preflight = (origin: string) =>
  SELF.fetch('http://api.test/api/auth/login', {
    method: 'OPTIONS',
    headers: { Origin: origin, 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'content-type' },
  });

describe('CORS', () => {
  it('lets each portal origin call with credentials', async () => {
    for (const origin of ['http://localhost:5170', 'http://localhost:5171', 'http://localhost:5172']) {
      const res = await preflight(origin);
      expect(res.status).toBe(204);
      expect(res.headers.get('Access-Control-Allow-Origin')).toBe(origin);
      expect(res.headers.get('Access-Control-Allow-Credentials')).toBe('true');
    }
    const actual = await get('/api/health', { Origin: 'http://localhost:5172' });
    expect(actual.headers.get('Access-Control-Allow-Origin')).toBe('http://localhost:5172');
  });

  it('gives a foreign origin no CORS grant', async () => {
    const res = await preflight('https://evil.example');
    expect(res.headers.get('Access-Control-Allow-Origin')).toBeNull();
    const actual = await get('/api/health', { Origin: 'https://evil.example' });
    expect(actual.headers.get('Access-Control-Allow-Origin')).toBeNull();
  });
});

describe('every response', () => {
  it('carries secure headers and a request id', async () => {
    const res = await get('/api/health');
    expect(res.headers.get('X-Content-Type-Options')).toBe('nosniff');
    expect(res.headers.get('X-Frame-Options')).toBe('SAMEORIGIN');
    expect(res.headers.get('Strict-Transport-Security')).toContain('max-age=');
    expect(res.headers.get('Referrer-Policy')).toBe('no-referrer');
    expect(res.headers.get('X-Request-Id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('answers an unknown endpoint with 404 in the one shape', async () => {
    const res = await get('/api/nope');
    expect(res.status).toBe(404);
    expect(await body(res)).toEqual({ success: false, error: { code: 'NOT_FOUND', message: 'No such endpoint' } });
  });
});

describe('GET /api/openapi.json', () => {
  it('is generated from the route schemas', async () => {
    const res = await get('/api/openapi.json');
    expect(res.status).toBe(200);
    const doc = (await res.json()) as {
      openapi: string;
      paths: Record<string, Record<string, { requestBody?: unknown; responses: Record<string, unknown> }>>;
      components: { schemas: Record<string, { required?: string[] }> };
    };
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.paths).sort()).toEqual(
      [
        '/api/auth/exchange',
        '/api/auth/login',
        '/api/auth/logout',
        '/api/health',
        '/api/ready',
        '/api/users/me',
        '/api/users/me/profile',
        '/api/users/me/consent',
        '/api/users/me/export',
        '/api/users/me/deletion',
        '/api/auth/deletion/cancel',
        '/api/admin/people/{id}/erase',
        '/api/rooms',
        '/api/rooms/{sessionId}',
        '/api/rooms/{sessionId}/end',
        '/api/rooms/{sessionId}/join',
        '/api/rooms/{sessionId}/mute-ai',
        '/api/rooms/{sessionId}/whisper',
        '/api/rooms/{sessionId}/ws-ticket',
        '/api/sessions',
        '/api/sessions/{id}',
        '/api/sessions/{id}/rating',
        '/api/admin/skool-sync',
        '/api/admin/skool-sync/runs',
        '/api/admin/skool-sync/runs/{id}',
        '/api/admin/skool-sync/runs/{id}/changes',
        '/api/admin/skool-sync/runs/{id}/override',
        '/api/admin/people',
        '/api/admin/people/{id}',
        '/api/admin/people/{id}/tier',
        '/api/admin/people/{id}/role',
        '/api/admin/people/{id}/disable',
        '/api/admin/people/{id}/enable',
        '/api/admin/people/{id}/sign-out',
        '/api/admin/people/{id}/claim-email',
        '/api/admin/audit',
        '/api/admin/agent-latency',
        '/api/auth/claim',
        '/api/auth/claim/request',
        '/api/auth/password/forgot',
        '/api/auth/password/reset',
        '/api/users/me/password',
        '/api/auth/mfa',
        '/api/auth/mfa/enrol',
        '/api/auth/mfa/enrol/confirm',
        '/api/users/me/mfa',
        '/api/users/me/mfa/confirm',
        '/api/users/me/mfa/disable',
        '/api/users/me/mfa/enrol',
        '/api/users/me/mfa/recovery-codes',
        '/api/clients/{clientId}/notes',
        '/api/notes/{id}',
        '/api/search/transcripts',
        '/api/availability',
        '/api/availability/{id}',
        '/api/coaches/slots',
        '/api/appointments',
        '/api/appointments/{id}/cancel',
        '/api/appointments/{id}/ics',
        '/api/appointments/{id}/reschedule',
        '/api/appointments/{id}/reassign',
        '/api/appointments/{id}/reassign-options',
        '/api/rooms/appointment/{id}',
        '/api/coach/clients',
        '/api/coach/clients/{clientId}',
        '/api/coach/live',
        '/api/flags',
        '/api/flags/resolved',
        '/api/flags/{sessionId}',
        '/api/flags/{sessionId}/acknowledge',
        '/api/flags/{sessionId}/resolve',
        '/api/flags/{sessionId}/reopen',
        '/api/staff/ws-ticket',
      ].sort(),
    );
    expect(Object.keys(doc.paths['/api/auth/login']?.post?.responses ?? {}).sort()).toEqual(['200', '400', '401', '403', '413', '429']);
    expect(doc.components.schemas.LoginRequest?.required?.sort()).toEqual(['email', 'password']);
    expect(doc.components.schemas.Error).toBeDefined();
  });
});

describe('logs', () => {
  it('never carry passwords, grants, tokens or hashes', async () => {
    const lines: string[] = [];
    for (const method of ['log', 'warn', 'error', 'info', 'debug'] as const) {
      vi.spyOn(console, method).mockImplementation((...args: unknown[]) => {
        lines.push(args.map(String).join(' '));
      });
    }
    const user = await createUser();
    const loginRes = await post('/api/auth/login', { email: user.email, password: PASSWORD }, ipHeader());
    const login = await body<{ grant: string }>(loginRes);
    await post('/api/auth/login', { email: user.email, password: 'a wrong one' }, ipHeader());
    const binding = bindingCookie(loginRes);
    const exchange = await body<{ token: string }>(await post('/api/auth/exchange', { grant: login.data.grant }, binding));
    await get('/api/users/me', { Authorization: `Bearer ${exchange.data.token}` });

    expect(lines.length).toBeGreaterThan(3);
    const all = lines.join('\n');
    for (const secret of [
      PASSWORD,
      'a wrong one',
      login.data.grant,
      binding.Cookie.split('=')[1] ?? '',
      exchange.data.token,
      user.passwordHash ?? '$argon2id',
    ]) {
      expect(all).not.toContain(secret);
    }
    for (const line of lines) {
      const parsed = JSON.parse(line) as Record<string, unknown>;
      expect(parsed).toHaveProperty('level');
      expect(parsed).toHaveProperty('requestId');
    }
  });
});

describe('the Worker entry module', () => {
  it('exports only the fetch handler and Durable Object classes (workerd refuses anything else)', async () => {
    const entry = await import('./index');
    expect(Object.keys(entry).sort()).toEqual(['MailOutbox', 'RateLimiter', 'SessionRoom', 'StaffDesk', 'default']);
    expect(typeof entry.default.fetch).toBe('function');
  });
});
