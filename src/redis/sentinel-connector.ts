import { Redis, SentinelConnector, type SentinelConnectionOptions } from 'ioredis';

type ErrorEmitter = Parameters<SentinelConnector['connect']>[0];
type NetStream = Awaited<ReturnType<SentinelConnector['connect']>>;

const switchChannel = '+switch-master';

// ioredis's SentinelConnector, following the sentinels' +switch-master without ending the
// client. ioredis's own `failoverDetector` reacts to that message by calling the connector's
// disconnect(), the call a client makes when it is closed for good: if the message arrives
// while the client is reconnecting (the old primary died and the connector is still asking a
// sentinel where the primary is), the pending connect throws `Connection is closed.` and the
// client goes to `end`, never to reconnect (ioredis 5 SentinelConnector.connect:
// `if (!this.connecting) throw new Error(CONNECTION_CLOSED_ERROR_MSG)`; Redis._connect then
// sets `end`). Every later command answers `Connection is closed.`.
//
// Here the message only ever closes the socket to the old primary, as the primary's death
// does, so the client's retryStrategy reconnects through the sentinels; a message that
// arrives while a connect is resolving makes that connect resolve again, since the answer it
// got may name the old primary. disconnect() stays what the client calls when it is done.
// Used through the `Connector` option, which ioredis copies into every duplicate (BullMQ's
// blocking connections among them).
export class FollowingSentinelConnector extends SentinelConnector {
  private watchers: Redis[] = [];
  // +switch-master messages heard, so a connect can tell whether one came while it resolved.
  private switches = 0;

  // ioredis hands a `Connector` the client's options, typed as unknown.
  constructor(options: unknown) {
    super(options as SentinelConnectionOptions);
  }

  override async connect(eventEmitter: ErrorEmitter): Promise<NetStream> {
    this.watch();
    for (;;) {
      const seen = this.switches;
      const stream = await super.connect(eventEmitter);
      if (this.switches === seen) return stream;
      // Resolved before the sentinels announced the new primary: the answer may be the old.
      stream.destroy();
    }
  }

  override disconnect(): void {
    super.disconnect();
    this.unwatch();
  }

  // One subscriber per configured sentinel, for as long as the client wants a connection;
  // each retries every second, so a sentinel that was down is heard again once it is back.
  private watch(): void {
    if (this.watchers.length > 0) return;
    const name = this.options.name;
    for (const sentinel of this.options.sentinels ?? []) {
      const watcher = new Redis({
        host: sentinel.host ?? '127.0.0.1',
        port: sentinel.port ?? 26379,
        ...(sentinel.family === undefined ? {} : { family: sentinel.family }),
        ...(this.options.sentinelUsername ? { username: this.options.sentinelUsername } : {}),
        ...(this.options.sentinelPassword ? { password: this.options.sentinelPassword } : {}),
        ...(this.options.sentinelTLS ? { tls: this.options.sentinelTLS } : {}),
        ...(this.options.connectTimeout === undefined
          ? {}
          : { connectTimeout: this.options.connectTimeout }),
        retryStrategy: () => 1_000,
        maxRetriesPerRequest: null,
        enableReadyCheck: false,
      });
      // A sentinel that is down is only one of several: its errors are the retries'.
      watcher.on('error', () => undefined);
      // These sockets never keep a process alive on their own (a client that quit() leaves
      // its connector without a disconnect()).
      watcher.on('connect', () => watcher.stream.unref());
      watcher.on('message', (channel: string, message: string) => {
        if (channel !== switchChannel) return;
        // "<name> <old ip> <old port> <new ip> <new port>"
        const [master, , , host, port] = message.split(' ');
        if (master === name) this.switched(host, Number(port));
      });
      watcher.subscribe(switchChannel).catch(() => undefined);
      this.watchers.push(watcher);
    }
  }

  private unwatch(): void {
    const watchers = this.watchers;
    this.watchers = [];
    for (const watcher of watchers) watcher.disconnect();
  }

  private switched(host: string | undefined, port: number): void {
    this.switches += 1;
    const stream = this.stream as NetStream | undefined;
    if (!stream || stream.destroyed) return;
    // Already on the primary named (a second sentinel announcing the same failover).
    if (stream.remoteAddress === host && stream.remotePort === port) return;
    // Destroyed, not ended: a primary that hangs would never answer an end.
    stream.destroy();
  }
}
