/**
 * The API against its own OpenAPI document, by schemathesis (property-based: the coverage, fuzzing and
 * stateful phases, a fixed seed, a bounded number of examples per operation), as anonymous, a client, a
 * coach and an admin, on the real stack. Zero failures of: no 5xx, status codes and content types the
 * document lists, response bodies that match their schema. Only logout (it would end the run's own
 * session), the Skool sync trigger (it starts a browser scrape) and an admin's erasure (the admin run
 * finds real ids: it erased seed accounts other files sign in with, for good) are left out.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { SEED_USERS } from '../d1/seed-dev.mjs';
import { ensureSchemathesis } from '../scripts/schemathesis.mjs';
import { createClient, createCoach, login } from './helpers';
import { queryLocalD1 } from './stack';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const REPORTS = join(ROOT, '.wrangler', 'tmp', 'api-fuzz');
const CHECKS = ['not_a_server_error', 'status_code_conformance', 'response_schema_conformance', 'content_type_conformance'];
const SEED = 20261204;
const MAX_EXAMPLES = Number(process.env.HC_FUZZ_MAX_EXAMPLES ?? 15);

interface Outcome {
  code: number | null;
  output: string;
}

function runSchemathesis(bin: string, role: string, headers: Record<string, string>): Promise<Outcome> {
  const args = [
    'run',
    `${inject('apiOrigin')}/api/openapi.json`,
    '--url',
    inject('apiOrigin'),
    '--checks',
    CHECKS.join(','),
    '--phases',
    'coverage,fuzzing,stateful',
    '--seed',
    String(SEED),
    '--max-examples',
    String(MAX_EXAMPLES),
    '--workers',
    '1',
    '--no-color',
    // No example database: every run starts from the seed alone (and writes nothing into the checkout).
    '--generation-database',
    'none',
    '--continue-on-failure',
    '--exclude-path',
    '/api/auth/logout',
    '--exclude-path',
    '/api/admin/skool-sync',
    '--exclude-path',
    '/api/admin/people/{id}/erase',
    '--request-timeout',
    '20',
    '--report',
    'junit',
    '--report-junit-path',
    join(REPORTS, `${role}.xml`),
    ...Object.entries(headers).flatMap(([k, v]) => ['-H', `${k}: ${v}`]),
  ];
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { cwd: ROOT, env: { ...process.env, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.once('error', reject);
    child.once('exit', (code) => resolve({ code, output }));
  });
}

describe('the API holds to its OpenAPI document under generated requests', () => {
  let bin = '';
  const tokens: Record<string, string> = {};
  let stamp = '';

  beforeAll(async () => {
    bin = ensureSchemathesis();
    mkdirSync(REPORTS, { recursive: true });
    stamp = Date.now().toString(36);
    await createClient(`fuzz-client-${stamp}@example.com`, 'Fuzz Client', 'PREMIUM');
    tokens.client = await login(`fuzz-client-${stamp}@example.com`);
    await createCoach(`fuzz-coach-${stamp}@example.com`, 'Fuzz Coach');
    tokens.coach = await login(`fuzz-coach-${stamp}@example.com`);
    await createCoach(`fuzz-admin-${stamp}@example.com`, 'Fuzz Admin');
    await queryLocalD1(inject('persistDir'), `UPDATE users SET role = 'ADMIN' WHERE email = 'fuzz-admin-${stamp}@example.com'`);
    tokens.admin = await login(`fuzz-admin-${stamp}@example.com`);
  }, 120_000);

  // What the fuzzer made must not show up in other tests: its coaches stop taking bookings, their windows go;
  // and the seed accounts the admin run found by id (and disabled, made admin, ...) are as seeded again.
  afterAll(async () => {
    if (!stamp) return;
    const fuzzers = `SELECT id FROM users WHERE email LIKE 'fuzz-%-${stamp}@example.com'`;
    const seeded = SEED_USERS.map(
      (u) =>
        `UPDATE users SET role = '${u.role}', membership_tier = '${u.tier}', is_available = ${u.isAvailable ? 1 : 0}, disabled_at = NULL WHERE id = '${u.id}';`,
    );
    await queryLocalD1(
      inject('persistDir'),
      `DELETE FROM coach_availability WHERE coach_id IN (${fuzzers}); UPDATE users SET is_available = 0 WHERE id IN (${fuzzers}); ${seeded.join(' ')}`,
    );
  });

  for (const [i, role] of ['anonymous', 'client', 'coach', 'admin'].entries()) {
    it(`answers every generated request as ${role} within the document`, { timeout: 900_000 }, async () => {
      // Its own client IP, so the fuzzer's sign-in attempts never rate-limit another test's.
      const headers: Record<string, string> = { 'CF-Connecting-IP': `198.51.100.${10 + i}` };
      if (tokens[role]) headers.Authorization = `Bearer ${tokens[role]}`;
      const { code, output } = await runSchemathesis(bin, role, headers);
      const junit = readFileSync(join(REPORTS, `${role}.xml`), 'utf8');
      const failures = (junit.match(/<failure/g) ?? []).length + (junit.match(/<error/g) ?? []).length;
      expect({ role, code, failures }, output.slice(-20_000)).toEqual({ role, code: 0, failures: 0 });
    });
  }
});
