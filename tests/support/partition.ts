// A network partition between one process and a server: a TCP proxy on loopback whose `cut()` holds
// every byte in both directions (the sockets stay open, as when a link goes silent) and whose `heal()`
// delivers what was held, in order. Only the clients pointed at it are cut off; the rest of the test
// keeps talking to the server directly.
import type { Socket, TCPSocketListener } from "bun";

export interface Partition {
  /** host:port to point the client at. */
  hostname: string;
  port: number;
  cut(): void;
  heal(): void;
  stop(): void;
}

interface Link {
  upstream: Socket<undefined> | null;
  /** Bytes waiting to go each way: while cut, or until the other side's socket takes them. */
  toServer: Uint8Array[];
  toClient: Uint8Array[];
}

export async function startPartition(target: { hostname: string; port: number }): Promise<Partition> {
  let cut = false;
  const links = new Set<{ client: Socket<Link>; link: Link }>();
  const flush = (socket: Socket<undefined> | Socket<Link> | null, queue: Uint8Array[]) => {
    if (cut || !socket) return;
    while (queue.length > 0) {
      const chunk = queue[0]!;
      const written = socket.write(chunk);
      if (written < chunk.byteLength) {
        queue[0] = chunk.subarray(Math.max(written, 0));
        return; // the rest goes on `drain`
      }
      queue.shift();
    }
  };
  const listener: TCPSocketListener<Link> = Bun.listen<Link>({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      async open(client) {
        const link: Link = { upstream: null, toServer: [], toClient: [] };
        client.data = link;
        links.add({ client, link });
        link.upstream = await Bun.connect({
          hostname: target.hostname,
          port: target.port,
          socket: {
            data: (_socket, chunk) => {
              link.toClient.push(new Uint8Array(chunk));
              flush(client, link.toClient);
            },
            drain: () => flush(link.upstream, link.toServer),
            close: () => void client.end(),
            error: () => void client.end(),
          },
        });
        flush(link.upstream, link.toServer);
      },
      data(client, chunk) {
        client.data.toServer.push(new Uint8Array(chunk));
        flush(client.data.upstream, client.data.toServer);
      },
      drain: (client) => flush(client, client.data.toClient),
      close: (client) => void client.data?.upstream?.end(),
      error: (client) => void client.data?.upstream?.end(),
    },
  });
  return {
    hostname: "127.0.0.1",
    port: listener.port,
    cut: () => {
      cut = true;
    },
    heal: () => {
      cut = false;
      for (const { client, link } of links) {
        flush(link.upstream, link.toServer);
        flush(client, link.toClient);
      }
    },
    stop: () => listener.stop(true),
  };
}
