import amqp, { type ChannelModel, type ConfirmChannel } from 'amqplib';
import { EventEmitter } from 'node:events';
import type { Logger } from '../observability/logger.js';
import { assertTopology, type QueueSettings } from './topology.js';
import { parseAmqpUrls, redact } from './urls.js';

type OnChannel = (channel: ConfirmChannel) => Promise<void>;

export class BrokerUnavailableError extends Error {
  override readonly name = 'BrokerUnavailableError';
}

// One AMQP connection with one confirm channel, kept alive: when the broker restarts or
// drops the connection it reconnects with capped exponential backoff and full jitter,
// declares the topology again and re-runs every `onChannel` hook (consumers resubscribe).
// `url` may name several nodes of a cluster (src/broker/urls.ts): each attempt tries the
// next one, round robin, starting from the first, and the backoff grows once per round, so
// a lost node is replaced by a live one at once (docs/operations.md, RabbitMQ cluster).
export class BrokerConnection extends EventEmitter {
  private model: ChannelModel | null = null;
  private current: ConfirmChannel | null = null;
  private readonly hooks: OnChannel[] = [];
  private readonly urls: string[];
  private next = 0;
  private closing = false;
  private attempt = 0;
  private timer: NodeJS.Timeout | null = null;
  private connecting: Promise<void> | null = null;

  constructor(
    url: string,
    private readonly logger: Logger,
    private readonly name: string,
    // Every process of a deployment must declare the same queue type (the config's).
    private readonly queueSettings: QueueSettings,
  ) {
    super();
    this.urls = parseAmqpUrls(url);
  }

  get channel(): ConfirmChannel | null {
    return this.current;
  }

  get connected(): boolean {
    return this.current !== null;
  }

  requireChannel(): ConfirmChannel {
    if (!this.current) throw new BrokerUnavailableError('RabbitMQ is not connected');
    return this.current;
  }

  onChannel(hook: OnChannel): void {
    this.hooks.push(hook);
    if (this.current) void this.runHook(hook, this.current);
  }

  // Resolves once connected the first time; keeps retrying in the background until then.
  async start(): Promise<void> {
    this.closing = false;
    await new Promise<void>((resolve) => {
      this.once('connected', resolve);
      this.connectSoon(0);
    });
  }

  // Drops the connection so that the one reconnect path restores everything, for example
  // when the broker cancelled a consumer (its queue was deleted) and the channel stays open.
  reset(reason: string): void {
    if (!this.model) return;
    this.logger.warn({ broker: this.name, reason }, 'amqp connection reset');
    void this.model.close().catch(() => undefined);
  }

  async close(): Promise<void> {
    this.closing = true;
    if (this.timer) clearTimeout(this.timer);
    await this.connecting?.catch(() => undefined);
    const model = this.model;
    this.model = null;
    this.current = null;
    if (model) await model.close().catch(() => undefined);
  }

  private connectSoon(delayMs: number): void {
    if (this.closing || this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.connecting = this.connect().finally(() => {
        this.connecting = null;
      });
    }, delayMs);
  }

  private async connect(): Promise<void> {
    let model: ChannelModel | null = null;
    const url = this.urls[this.next % this.urls.length]!;
    // Whatever happens to this attempt or to the connection it opens, the next goes elsewhere.
    this.next += 1;
    const node = redact(url);
    try {
      model = await amqp.connect(url, {
        clientProperties: { connection_name: this.name },
        // A broker that accepts TCP but never answers must not stall reconnecting forever.
        timeout: 10_000,
        // amqplib leaves Nagle on: the tail of a publish then waits for the broker's delayed
        // ACK (40 ms on Linux) whenever no confirm is flowing back to carry one.
        noDelay: true,
      });
      if (this.closing) {
        await model.close().catch(() => undefined);
        return;
      }
      model.on('error', (error: Error) =>
        this.logger.warn({ err: error }, 'amqp connection error'),
      );
      const opened = model;
      model.on('close', () => this.lost(opened, node));
      const channel = await model.createConfirmChannel();
      channel.on('error', (error: Error) => this.logger.warn({ err: error }, 'amqp channel error'));
      // A channel closed by the broker (for example a bad ack) leaves the connection open:
      // close it too so that one path, reconnect, restores everything.
      channel.on('close', () => void opened.close().catch(() => undefined));
      await assertTopology(channel, this.queueSettings);
      this.model = model;
      this.current = channel;
      for (const hook of this.hooks) await this.runHook(hook, channel);
      // Lost again while the hooks ran: lost() has already scheduled the next attempt.
      if (this.model !== model) return;
      this.attempt = 0;
      this.logger.info({ broker: this.name, node }, 'amqp connected');
      this.emit('connected', channel);
    } catch (error) {
      if (model && this.model !== model) await model.close().catch(() => undefined);
      if (/PRECONDITION_FAILED/.test(String(error))) {
        // Retrying cannot help: the queues exist with other arguments (another type or size).
        this.logger.error(
          {
            err: error,
            queueType: this.queueSettings.amqp.queueType,
            quorumSize: this.queueSettings.amqp.quorumSize,
          },
          'the broker has these queues with other arguments; AMQP_QUEUE_TYPE and AMQP_QUORUM_SIZE must match them (docs/operations.md)',
        );
      }
      this.logger.warn({ err: error, attempt: this.attempt, node }, 'amqp connect failed');
      this.scheduleReconnect();
    }
  }

  private async runHook(hook: OnChannel, channel: ConfirmChannel): Promise<void> {
    try {
      await hook(channel);
    } catch (error) {
      // A hook that failed because the channel is already gone needs nothing more.
      if (this.current !== channel) return;
      this.logger.error({ err: error }, 'amqp channel hook failed; reconnecting');
      await this.model?.close().catch(() => undefined);
    }
  }

  private lost(model: ChannelModel, node: string): void {
    // Failures before the connection was adopted are handled by connect() itself.
    if (this.model !== model) return;
    this.model = null;
    this.current = null;
    this.emit('disconnected');
    if (this.closing) return;
    this.logger.warn({ broker: this.name, node }, 'amqp connection lost; reconnecting');
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    const round = Math.floor(this.attempt / this.urls.length);
    const ceiling = Math.min(10_000, 100 * 2 ** round);
    this.attempt += 1;
    this.connectSoon(Math.random() * ceiling);
  }
}
