/**
 * Writing the audit log (db/schema.ts `auditLog`): one insert, to go in the same D1 batch as the change it
 * records, so a change is never without its row nor a row without its change. Values are checked here to
 * hold no secret: keys that name one are refused outright (a bug, not input).
 */
import type { Db } from '../db/client';
import { auditLog } from '../db/schema';

export interface AuditEntry {
  actorId: string | null;
  action: string;
  target: { type: string; id: string };
  reason?: string | null;
  before?: Record<string, unknown>;
  after?: Record<string, unknown>;
  requestId?: string | null;
  at?: Date;
}

const SECRET_KEYS = /password|token|secret|grant|hash|code|transcript|text/i;

function clean(values: Record<string, unknown> | undefined): Record<string, unknown> | null {
  if (!values) return null;
  for (const key of Object.keys(values)) {
    if (SECRET_KEYS.test(key)) throw new Error(`audit: "${key}" may not be recorded in the audit log`);
  }
  return values;
}

/** The insert for `entry`: put it in the batch of the change it records. */
export function auditInsert(db: Db, entry: AuditEntry) {
  return db.insert(auditLog).values({
    at: entry.at ?? new Date(),
    actorId: entry.actorId,
    action: entry.action,
    targetType: entry.target.type,
    targetId: entry.target.id,
    reason: entry.reason ?? null,
    before: clean(entry.before),
    after: clean(entry.after),
    requestId: entry.requestId ?? null,
  });
}
