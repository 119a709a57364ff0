/**
 * Bench Worker, run in workerd by bench/run.mjs through Miniflare.
 *
 *   GET /<case>?k=K   runs K verifications of <case> (argon2id | pbkdf2), answers { ops }
 *   GET /noop         answers at once (the request overhead, subtracted by the runner)
 *   GET /params       the production argon2id parameters and the PBKDF2 iteration count
 *
 * workerd freezes timers during execution (Spectre mitigation), so the runner times from outside.
 */
import { PASSWORD_PARAMS, PBKDF2_ITERATIONS, prepare } from './password-cases.mjs';

/** @type {Map<string, Promise<import('./password-cases.mjs').Operation>>} */
const prepared = new Map();

export default {
  /** @param {Request} request */
  async fetch(request) {
    const url = new URL(request.url);
    const name = url.pathname.slice(1);
    if (name === 'noop') return Response.json({ ops: 0 });
    if (name === 'params') return Response.json({ PASSWORD_PARAMS, PBKDF2_ITERATIONS });
    if (name !== 'argon2id' && name !== 'pbkdf2') return new Response('not found', { status: 404 });

    const k = Math.max(1, Math.min(100, Number(url.searchParams.get('k') ?? '1') || 1));
    if (!prepared.has(name)) prepared.set(name, prepare(name));
    const verify = await /** @type {Promise<import('./password-cases.mjs').Operation>} */ (prepared.get(name));
    for (let i = 0; i < k; i++) await verify();
    return Response.json({ ops: k });
  },
};
