import type { ConfirmChannel, Options } from 'amqplib';
import { BrokerConnection, BrokerUnavailableError } from './connection.js';
import { encode } from './messages.js';
import { withPublishSpan } from '../observability/trace-context.js';

export class PublishTimeoutError extends Error {
  override readonly name = 'PublishTimeoutError';
}

export class PublishNackedError extends Error {
  override readonly name = 'PublishNackedError';
}

// RabbitMQ 3.10 (seen on 3.10.8): a channel whose first publishes to a quorum queue meet the
// election of a new leader nacks every publish for as long as it lives, while the queue takes
// other channels' publishes (test/rabbit-cluster/leader-kill.test.ts). Nacks with no ack
// between them for this long replace the connection, and so the channel; a refusal the
// broker means (none in Flashline's topology) costs a reconnect now and then.
export const stuckChannelAfterMs = 1_000;

// Publishes persistent messages on the shared confirm channel and resolves when the broker
// confirms that message. Every request in flight has its own publish outstanding at once:
// amqplib matches confirms to callbacks, so no publish waits for the one before it.
export class ConfirmedPublisher {
  private nackedSince: { channel: ConfirmChannel; at: number } | null = null;

  constructor(
    private readonly broker: BrokerConnection,
    private readonly timeoutMs: number,
  ) {}

  publish(
    exchange: string,
    routingKey: string,
    message: object,
    options: Options.Publish = {},
  ): Promise<void> {
    // The W3C trace context travels in the headers, so the consumer continues this trace.
    const traced = { system: 'rabbitmq', destination: exchange, messageId: options.messageId };
    return withPublishSpan(traced, (headers) =>
      this.send(exchange, routingKey, message, {
        ...options,
        headers: { ...options.headers, ...headers },
      }),
    );
  }

  // Publishes without a span of its own: for a message whose contents carry their traces.
  send(
    exchange: string,
    routingKey: string,
    message: object,
    options: Options.Publish,
  ): Promise<void> {
    const channel = this.broker.channel;
    if (!channel) return Promise.reject(new BrokerUnavailableError('RabbitMQ is not connected'));
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new PublishTimeoutError(`no confirm within ${this.timeoutMs} ms`)),
        this.timeoutMs,
      );
      try {
        channel.publish(
          exchange,
          routingKey,
          // A Buffer is sent as it is: the compensator parks messages it cannot parse.
          Buffer.isBuffer(message) ? message : encode(message),
          { persistent: true, contentType: 'application/json', ...options },
          (error: unknown) => {
            clearTimeout(timer);
            this.settled(channel, error !== null && error !== undefined);
            if (error)
              reject(new PublishNackedError('broker did not accept the message', { cause: error }));
            else resolve();
          },
        );
      } catch (error) {
        // amqplib throws synchronously when the channel closed under us.
        clearTimeout(timer);
        reject(new BrokerUnavailableError('RabbitMQ channel closed', { cause: error }));
      }
    });
  }

  private settled(channel: ConfirmChannel, nacked: boolean): void {
    if (!nacked) {
      if (this.nackedSince?.channel === channel) this.nackedSince = null;
      return;
    }
    const now = Date.now();
    if (this.nackedSince?.channel !== channel) {
      this.nackedSince = { channel, at: now };
    } else if (now - this.nackedSince.at >= stuckChannelAfterMs) {
      this.nackedSince = null;
      this.broker.reset(`every publish nacked for ${stuckChannelAfterMs} ms`);
    }
  }
}
