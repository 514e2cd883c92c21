// The events bench's sinks in a process of their own, at the lowest CPU priority: they stand
// for a shop's webhook receiver and RabbitMQ consumer, which run on other hosts, so on the
// measured machine they take only what the system under test leaves (at nice 0 in the bench's
// process, their ~175 µs per event ran ahead of the drain at DRAIN_NICE). Their lag figures
// include the wait for that leftover CPU, so they err on the late side.
// Messages from the parent: reset, count (answers the events seen so far), lags, close.
import { lowerPriority } from '../src/cmd/process-priority.js';
import { brokerSink, webhookSink } from './events-sinks.js';

lowerPriority(19);
const webhook = await webhookSink();
const broker = await brokerSink(process.env.SINK_AMQP_URL!);
const send = (message: unknown) => process.send!(message);

process.on('message', (message: { type: string }) => {
  if (message.type === 'reset') {
    webhook.seen.reset();
    broker.seen.reset();
    send({ type: 'reset' });
  } else if (message.type === 'count') {
    send({ type: 'count', webhook: webhook.seen.ids.size, broker: broker.seen.ids.size });
  } else if (message.type === 'lags') {
    send({ type: 'lags', webhook: webhook.seen.lags, broker: broker.seen.lags });
  } else if (message.type === 'close') {
    webhook.close();
    void broker.close().finally(() => process.exit(0));
  }
});
send({ type: 'ready', url: webhook.url });
