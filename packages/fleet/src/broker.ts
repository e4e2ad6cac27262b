import { createServer, type AddressInfo, type Server } from 'node:net';
import { FLEET_BROKER, fleetError } from './protocol/errors.ts';

/*
 * The embedded default broker: aedes in-process behind a plain TCP server on
 * loopback, so one process can run a whole demo fleet. aedes is an optional
 * peer dependency, loaded only when a broker is started; it speaks MQTT 3.1.1,
 * which the protocol is designed to need (see PROTOCOL.md).
 */

export interface BrokerOptions {
  /** TCP port; 0 (default) picks a free one. */
  port?: number;
  /** Listen address; default `127.0.0.1`. */
  host?: string;
}

export interface EmbeddedBroker {
  /** `mqtt://host:port` */
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

export async function startBroker(options: BrokerOptions = {}): Promise<EmbeddedBroker> {
  let Aedes: typeof import('aedes').Aedes;
  try {
    ({ Aedes } = await import('aedes'));
  } catch (err) {
    throw fleetError(FLEET_BROKER, 'the embedded broker needs the optional dependency aedes@1 (pnpm add aedes)', undefined, err);
  }
  const broker = await Aedes.createBroker();
  const server: Server = createServer(broker.handle as (s: import('node:net').Socket) => void);
  const host = options.host ?? '127.0.0.1';
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? 0, host, () => resolve());
    });
  } catch (err) {
    await new Promise<void>((r) => broker.close(() => r()));
    throw fleetError(FLEET_BROKER, `embedded broker cannot listen on ${host}:${options.port ?? 0}: ${(err as Error).message}`, undefined, err);
  }
  const port = (server.address() as AddressInfo).port;
  const sockets = new Set<import('node:net').Socket>();
  server.on('connection', (s) => {
    s.setNoDelay(true);
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  return {
    url: `mqtt://${host}:${port}`,
    port,
    close: async () => {
      await new Promise<void>((r) => broker.close(() => r()));
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
