import { subscribe, unsubscribe } from 'node:diagnostics_channel';

interface ConnectMessage {
  readonly connectParams: { readonly hostname: string; readonly port: string | number };
}

/** Every connection undici starts (before any lookup) and completes, as `host:port`, seen on its diagnostics channels. */
export interface ConnectionProbe {
  readonly started: readonly string[];
  readonly connected: readonly string[];
  stop(): void;
}

export function probeConnections(): ConnectionProbe {
  const started: string[] = [];
  const connected: string[] = [];
  const record = (into: string[]) => (message: unknown) => {
    const { hostname, port } = (message as ConnectMessage).connectParams;
    into.push(`${hostname}:${port}`);
  };
  const onStart = record(started);
  const onConnected = record(connected);
  subscribe('undici:client:beforeConnect', onStart);
  subscribe('undici:client:connected', onConnected);
  return {
    started,
    connected,
    stop() {
      unsubscribe('undici:client:beforeConnect', onStart);
      unsubscribe('undici:client:connected', onConnected);
    },
  };
}
