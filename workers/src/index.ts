import { OpenAPIHono } from '@hono/zod-openapi';
import { describeError, log } from '@hybrid-coach/shared/log';
import type { Hono, Schema } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { cors } from 'hono/cors';
import { HTTPException } from 'hono/http-exception';
import { requestId } from 'hono/request-id';
import { secureHeaders } from 'hono/secure-headers';
import type { MergeSchemaPath } from 'hono/types';
import type { AppEnv } from './app-env';
import { db, withDb } from './db/client';
import { markMissed } from './lib/booking';
import { portalOrigins } from './lib/config';
import { ERASURE_CRON, runDueErasures } from './lib/erasure';
import type { ErrorCode } from './lib/errors';
import { AppError, errorBody } from './lib/errors';
import { runFieldSweep } from './lib/field-crypto';
import { originCheck } from './lib/origin-check';
import { retentionMonths, runRetention } from './lib/retention';
import { startSkoolSync } from './lib/skool-sync';
import { mailOutbox } from './mail/outbox';
import { admin } from './routes/admin';
import { adminAudit } from './routes/admin-audit';
import { adminLatency } from './routes/admin-latency';
import { adminPeople } from './routes/admin-people';
import { appointmentsApp } from './routes/appointments';
import { auth } from './routes/auth';
import { availability } from './routes/availability';
import { coach } from './routes/coach';
import { consent } from './routes/consent';
import { adminErasure, myData } from './routes/data-rights';
import { flags } from './routes/flags';
import { health } from './routes/health';
import { myMfa, signInMfa } from './routes/mfa';
import { notes, notesOfClient } from './routes/notes';
import { rooms } from './routes/rooms';
import { search } from './routes/search';
import { sessions } from './routes/sessions';
import { slots } from './routes/slots';
import { staff } from './routes/staff';
import { usersApp } from './routes/users';
import { webhooks } from './routes/webhooks';

export { MailOutbox } from './mail-outbox';
export { RateLimiter } from './rate-limiter';
export { SessionRoom } from './session-room';
export { StaffDesk } from './staff-desk';

/** Bodies above this are refused with 413 before any handler reads them. */
const MAX_BODY_BYTES = 64 * 1024;

/** Hono's own HTTP errors (malformed JSON, wrong media type, ...) in the app's vocabulary. */
function fromHttpException(err: HTTPException): AppError {
  const byStatus: Record<number, ErrorCode> = { 401: 'UNAUTHORIZED', 403: 'FORBIDDEN', 404: 'NOT_FOUND', 413: 'PAYLOAD_TOO_LARGE' };
  if (err.status === 415) {
    return new AppError('VALIDATION_ERROR', 'The body must be JSON (Content-Type: application/json)', {
      fields: { body: 'expected application/json' },
    });
  }
  const code = byStatus[err.status] ?? (err.status < 500 ? 'VALIDATION_ERROR' : 'INTERNAL_ERROR');
  const fields = code === 'VALIDATION_ERROR' ? { body: err.message } : undefined;
  return new AppError(code, err.message || code, fields ? { fields } : {});
}

const app = new OpenAPIHono<AppEnv>();

app.use('*', requestId());
app.use('*', withDb);
app.use('*', async (c, next) => {
  const started = Date.now();
  await next();
  const user = c.get('user');
  log(c.res.status >= 500 ? 'error' : 'info', 'request', {
    requestId: c.get('requestId'),
    method: c.req.method,
    path: c.req.path,
    status: c.res.status,
    durationMs: Date.now() - started,
    ...(user ? { userId: user.id } : {}),
  });
});
app.use('*', secureHeaders());
app.use('/api/*', (c, next) =>
  cors({
    origin: (origin) => (portalOrigins(c.env).includes(origin) ? origin : null),
    credentials: true,
    allowHeaders: ['Content-Type', 'Authorization'],
    allowMethods: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'],
    // Content-Disposition: the portal saves the data export under the name the Worker gives it.
    exposeHeaders: ['Retry-After', 'X-Request-Id', 'Content-Disposition'],
    maxAge: 600,
  })(c, next),
);
app.use('/api/*', originCheck);
const defaultBodyLimit = bodyLimit({
  maxSize: MAX_BODY_BYTES,
  onError: () => {
    throw new AppError('PAYLOAD_TOO_LARGE', `The body is larger than ${MAX_BODY_BYTES / 1024} KiB`);
  },
});
// Sync chunks carry their own, larger limit (routes/webhooks.ts).
app.use('/api/*', (c, next) => (c.req.path === '/api/webhooks/skool-sync' ? next() : defaultBodyLimit(c, next)));

/**
 * Where each route group is mounted. AppType below lists the same groups, written out (see there): a new
 * group goes in both, and the type check fails until it does.
 */
const groups = [
  ['/api', health],
  ['/api/auth', auth],
  ['/api/auth/mfa', signInMfa],
  ['/api/users', usersApp],
  ['/api/users/me/mfa', myMfa],
  ['/api/users/me/consent', consent],
  ['/api/users/me', myData],
  ['/api/rooms', rooms],
  ['/api/sessions', sessions],
  ['/api/admin', admin],
  ['/api/admin', adminPeople],
  ['/api/admin', adminAudit],
  ['/api/admin', adminErasure],
  ['/api/admin', adminLatency],
  ['/api/clients', notesOfClient],
  ['/api/notes', notes],
  ['/api/search', search],
  ['/api/coach', coach],
  ['/api/availability', availability],
  ['/api/coaches', slots],
  ['/api/appointments', appointmentsApp],
  ['/api/flags', flags],
  ['/api/staff', staff],
  ['/api/webhooks', webhooks],
] as const;
for (const [path, group] of groups) app.route(path, group);

/** A route group's schema under its mount path, as `.route()` types it (`any` as in Hono's own `Client`). */
// biome-ignore lint/suspicious/noExplicitAny: Hono's Env and base path are matched loosely on purpose, as hono/client does.
type Mounted<Path extends string, Group> = Group extends Hono<any, infer S extends Schema, any> ? MergeSchemaPath<S, Path> : never;

/**
 * The API's route types, for the portals' typed client (`hc<AppType>`). Written out rather than inferred
 * from one `.route()` chain or made from `groups`: the compiler would then have to write that chain's (or
 * `groups`') whole type into the declaration, which it refuses (TS7056); this one names each group's type
 * and stays small.
 */
export type AppType = Hono<
  AppEnv,
  | Mounted<'/api', typeof health>
  | Mounted<'/api/auth', typeof auth>
  | Mounted<'/api/auth/mfa', typeof signInMfa>
  | Mounted<'/api/users', typeof usersApp>
  | Mounted<'/api/users/me/mfa', typeof myMfa>
  | Mounted<'/api/users/me/consent', typeof consent>
  | Mounted<'/api/users/me', typeof myData>
  | Mounted<'/api/rooms', typeof rooms>
  | Mounted<'/api/sessions', typeof sessions>
  | Mounted<'/api/admin', typeof admin>
  | Mounted<'/api/admin', typeof adminPeople>
  | Mounted<'/api/admin', typeof adminAudit>
  | Mounted<'/api/admin', typeof adminErasure>
  | Mounted<'/api/admin', typeof adminLatency>
  | Mounted<'/api/clients', typeof notesOfClient>
  | Mounted<'/api/notes', typeof notes>
  | Mounted<'/api/search', typeof search>
  | Mounted<'/api/coach', typeof coach>
  | Mounted<'/api/availability', typeof availability>
  | Mounted<'/api/coaches', typeof slots>
  | Mounted<'/api/appointments', typeof appointmentsApp>
  | Mounted<'/api/flags', typeof flags>
  | Mounted<'/api/staff', typeof staff>
  | Mounted<'/api/webhooks', typeof webhooks>
>;

/** True when `A` and `B` are the same type (assignable both ways is not enough: a schema with more paths is assignable to one with fewer). */
type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
type MountedEntry<E> = E extends readonly [infer Path extends string, infer Group] ? Mounted<Path, Group> : never;
type SameGroups<T extends true> = T;
/** The type check fails here when a group is mounted but left out of AppType, or is in AppType but not mounted. */
type _AppTypeListsTheMountedGroups = SameGroups<Equal<MountedEntry<(typeof groups)[number]>, AppType extends Hono<AppEnv, infer S> ? S : never>>;

app.openAPIRegistry.registerComponent('securitySchemes', 'bearerAuth', { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' });
app.openAPIRegistry.registerComponent('securitySchemes', 'cookieAuth', { type: 'apiKey', in: 'cookie', name: 'hc_session' });
app.doc31('/api/openapi.json', {
  openapi: '3.1.0',
  info: { title: 'Hybrid Coach API', version: '0.1.0', description: 'Generated from the zod schemas beside each route.' },
});

app.notFound(() => {
  throw new AppError('NOT_FOUND', 'No such endpoint');
});

app.onError((err, c) => {
  const appErr = err instanceof AppError ? err : err instanceof HTTPException ? fromHttpException(err) : undefined;
  if (!appErr) {
    log('error', 'unhandled error', { requestId: c.get('requestId'), path: c.req.path, ...describeError(err) });
    return c.json(errorBody(new AppError('INTERNAL_ERROR', 'Something went wrong on our side')), 500);
  }
  if (appErr.extra.retryAfterSeconds !== undefined) c.header('Retry-After', String(appErr.extra.retryAfterSeconds));
  return c.json(errorBody(appErr), appErr.status);
});

export default {
  fetch: app.fetch,
  /** Cron (wrangler.toml): the nightly Skool membership sync, data retention, missed appointments and the field-encryption sweep; hourly, the account erasure, missed appointments and the mail backstop. */
  async scheduled(controller, env) {
    // Hourly: accounts whose deletion grace period has passed, as of the cron's scheduled time.
    // Hourly, also: appointments nobody started become MISSED within the hour, and due mail goes.
    if (controller.cron === ERASURE_CRON) {
      await runDueErasures(env, db(env), new Date(controller.scheduledTime));
      await markMissedStep(env, controller);
      await kickOutboxStep(env, controller);
      return;
    }
    try {
      await startSkoolSync(env, db(env), { trigger: 'cron' }, new URL(env.API_URL).origin);
    } catch (err) {
      // A run already going, or the agent-host down: recorded on the run row and logged, not thrown.
      log('error', 'scheduled skool sync not started', { cron: controller.cron, ...describeError(err) });
    }
    try {
      await runRetention(db(env), retentionMonths(env.RETENTION_MONTHS), new Date(controller.scheduledTime));
    } catch (err) {
      log('error', 'retention did not run', { cron: controller.cron, ...describeError(err) });
    }
    await markMissedStep(env, controller);
    // Intake answers and notes still plain, or sealed with the previous key during a rotation.
    await runFieldSweep(env, db(env));
    await kickOutboxStep(env, controller);
  },
} satisfies ExportedHandler<Env>;

/** Appointments nobody started become MISSED (the lists mark them too, when someone looks). */
async function markMissedStep(env: Env, controller: ScheduledController): Promise<void> {
  try {
    await markMissed(db(env), new Date(controller.scheduledTime));
  } catch (err) {
    log('error', 'missed appointments not marked', { cron: controller.cron, ...describeError(err) });
  }
}

/** A backstop for a lost kick: whatever mail is due goes now. */
async function kickOutboxStep(env: Env, controller: ScheduledController): Promise<void> {
  try {
    await mailOutbox(env).kick();
  } catch (err) {
    log('error', 'mail outbox not kicked', { cron: controller.cron, ...describeError(err) });
  }
}
