import type { Channel, ConsumeMessage } from 'amqplib';
import type { Logger } from '../observability/logger.js';
import type { BrokerConnection } from './connection.js';

export type SubscriptionOptions = {
  queue: string;
  // Messages taken from RabbitMQ and not yet acked.
  prefetch: number;
  // Who consumes, for the log line when the broker cancels it.
  name: string;
  handle: (channel: Channel, message: ConsumeMessage) => Promise<void>;
  // Runs on each new channel before it is subscribed, also once stopping.
  onChannel?: (channel: Channel) => void;
};

// A consumer of one queue with manual acks, subscribed again on every channel the broker
// opens (reconnects included); it keeps the handlers of the messages taken, so that stop()
// waits for them.
export class Subscription {
  private consumerTag: string | null = null;
  private readonly inFlight = new Set<Promise<void>>();
  private stopped = false;

  constructor(
    private readonly broker: BrokerConnection,
    private readonly logger: Logger,
    private readonly options: SubscriptionOptions,
  ) {}

  get stopping(): boolean {
    return this.stopped;
  }

  start(): void {
    const { broker, options } = this;
    broker.onChannel(async (channel) => {
      options.onChannel?.(channel);
      if (this.stopped) return;
      await channel.prefetch(options.prefetch);
      const { consumerTag } = await channel.consume(
        options.queue,
        (message) => {
          if (message) this.track(options.handle(channel, message));
          // The broker cancelled this consumer (its queue was deleted): reconnecting
          // declares the queue again and resubscribes.
          else if (!this.stopped) broker.reset(`${options.name} cancelled by the broker`);
        },
        { noAck: false },
      );
      this.consumerTag = consumerTag;
    });
  }

  // Stops consuming, then waits for the messages already taken to be handled.
  async stop(): Promise<void> {
    this.stopped = true;
    const channel = this.broker.channel;
    if (channel && this.consumerTag) await channel.cancel(this.consumerTag).catch(() => undefined);
    await Promise.allSettled([...this.inFlight]);
  }

  // An ack on a channel that has since closed would throw; the broker redelivers those.
  settle(channel: Channel, action: () => void): void {
    if (this.broker.channel !== channel) return;
    try {
      action();
    } catch (error) {
      this.logger.warn({ err: error }, 'ack failed; the broker will redeliver');
    }
  }

  private track(work: Promise<void>): void {
    this.inFlight.add(work);
    void work.finally(() => this.inFlight.delete(work));
  }
}
