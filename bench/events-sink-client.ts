import { fork } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

// The parent's side of bench/events-sink-process.ts: one request at a time, each answered by
// a message of its type.
export async function startSinks(amqpUrl: string) {
  const child = fork(fileURLToPath(new URL('events-sink-process.ts', import.meta.url)), [], {
    execArgv: ['--import', 'tsx'],
    env: { ...process.env, SINK_AMQP_URL: amqpUrl },
  });
  const reply = async <T>(type: string, send = true): Promise<T> => {
    const answer = new Promise<T>((resolve) => {
      const on = (message: { type: string } & T) => {
        if (message.type !== type) return;
        child.off('message', on);
        resolve(message);
      };
      child.on('message', on);
    });
    if (send) child.send({ type });
    return answer;
  };
  const { url } = await reply<{ url: string }>('ready', false);
  return {
    pid: child.pid!,
    url,
    reset: () => reply('reset'),
    count: () => reply<{ webhook: number; broker: number }>('count'),
    lags: () => reply<{ webhook: number[]; broker: number[] }>('lags'),
    close: async () => {
      child.send({ type: 'close' });
      await once(child, 'exit');
    },
  };
}
