// A slow network link between a process and a server: a TCP proxy on loopback that holds every chunk
// the client sends for `delayMs` before passing it on. Real sockets, real latency: enough to catch a
// transcoder in the middle of uploading its outputs.
import type { Socket, TCPSocketListener } from "bun";

export interface SlowLink {
  /** host:port to point the client at. */
  endpoint: string;
  stop(): void;
}

interface Pair {
  upstream: Socket<undefined> | null;
  pending: Uint8Array[];
}

export async function startSlowLink(
  target: { hostname: string; port: number },
  delayMs: number,
): Promise<SlowLink> {
  const listener: TCPSocketListener<Pair> = Bun.listen<Pair>({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      async open(client) {
        client.data = { upstream: null, pending: [] };
        const upstream = await Bun.connect({
          hostname: target.hostname,
          port: target.port,
          socket: {
            data: (_socket, chunk) => void client.write(chunk),
            close: () => {
              client.end();
            },
            error: () => {
              client.end();
            },
          },
        });
        client.data.upstream = upstream;
        for (const chunk of client.data.pending.splice(0)) upstream.write(chunk);
      },
      data(client, chunk) {
        const copy = new Uint8Array(chunk);
        setTimeout(() => {
          if (client.data.upstream) client.data.upstream.write(copy);
          else client.data.pending.push(copy);
        }, delayMs);
      },
      close: (client) => void setTimeout(() => client.data?.upstream?.end(), delayMs),
      error: (client) => {
        client.data?.upstream?.end();
      },
    },
  });
  return { endpoint: `http://127.0.0.1:${listener.port}`, stop: () => listener.stop(true) };
}
