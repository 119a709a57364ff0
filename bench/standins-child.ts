/** The stand-ins' own process for a bench (standins-apart.ts): starts them as asked, answers for their records, closes. */
import { type Standins, startStandins } from '../agent-host/dev/standins';
import { type FromChild, recordsOf, type ToChild } from './standins-apart';

let standins: Standins | undefined;
const reply = (m: FromChild) => process.send?.(m);

process.on('message', async (m: ToChild) => {
  try {
    if (m.type === 'start') {
      standins = await startStandins(m.options);
      reply({ type: 'ready', deepgramBaseUrl: standins.deepgramBaseUrl, openaiBaseUrl: standins.openaiBaseUrl });
    } else if (m.type === 'records') {
      if (!standins) throw new Error('asked for records before the stand-ins started');
      reply({ type: 'records', id: m.id, records: recordsOf(standins) });
    } else {
      await standins?.close();
      process.exit(0);
    }
  } catch (e) {
    reply({ type: 'failed', error: e instanceof Error ? (e.stack ?? e.message) : String(e) });
  }
});
// The bench gone (its IPC channel closed) takes the stand-ins with it.
process.on('disconnect', () => process.exit(0));
