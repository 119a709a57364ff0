/**
 * Runs the Skool replica on its own, for development:
 *   npx tsx agent-host/dev/skool-replica/main.ts [--port 8790] [--short 0.4] [--delay 300]
 * and prints the SKOOL_* variables that point the agent-host at it.
 */
import { parseArgs } from 'node:util';
import { startReplica } from './server';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: process.env.SKOOL_REPLICA_PORT ?? '8790' },
    host: { type: 'string', default: '127.0.0.1' },
    short: { type: 'string' },
    delay: { type: 'string' },
    email: { type: 'string' },
    password: { type: 'string' },
  },
});

const number = (name: string, text: string | undefined): number | undefined => {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isFinite(n) || n < 0) throw new Error(`--${name} must be a non-negative number (got "${text}")`);
  return n;
};

const short = number('short', values.short);
const replica = await startReplica({
  port: number('port', values.port) ?? 8790,
  host: values.host,
  ...(short !== undefined ? { servedFraction: { ultra: short, vagus: short } } : {}),
  ...(values.delay !== undefined ? { delayMs: number('delay', values.delay) } : {}),
  ...(values.email !== undefined ? { email: values.email } : {}),
  ...(values.password !== undefined ? { password: values.password } : {}),
});

console.log(
  JSON.stringify({
    level: 'info',
    msg: 'skool replica listening',
    url: replica.url,
    members: { ultra: replica.served('ultra').length, vagus: replica.served('vagus').length },
  }),
);
console.log(`SKOOL_BASE_URL=${replica.url}
SKOOL_EMAIL=${replica.credentials.email}
SKOOL_PASSWORD=${replica.credentials.password}
SKOOL_ULTRA_URL=${replica.membersUrl('ultra')}
SKOOL_VAGUS_URL=${replica.membersUrl('vagus')}`);

const stop = () => {
  void replica.close().then(() => process.exit(0));
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
