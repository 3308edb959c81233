// The same-run baseline of `bun run bench:websocket`: a bare `Bun.serve` WebSocket server with the api's
// path and nothing else of it. It speaks just enough of the protocol for the client fleet (welcome →
// subscribe → subscribed), takes progress ticks from Redis pub/sub as the api does (so the Redis hop is
// on both sides of the ratio), and publishes each as the same `video.progress` message to one topic.
// No session check, no message validation, no framework: what Bun and the machine cost by themselves.
import Redis from "ioredis";

/** Its own channel, so that the api under test (subscribed to the real one) never sees these ticks. */
export const BASELINE_CHANNEL = "bench:baseline-progress";
const TOPIC = "all-uploads";

export interface BaselineServer {
  url: string;
  server: Bun.Server<undefined>;
  stop(): Promise<void>;
}

export async function startBaselineServer(redisUrl: string): Promise<BaselineServer> {
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch(request, server) {
      if (server.upgrade(request)) return;
      return new Response("WebSocket only", { status: 426 });
    },
    websocket: {
      open(ws) {
        ws.send(JSON.stringify({ type: "welcome" }));
      },
      message(ws, text) {
        if (String(text).includes('"subscribe"')) {
          ws.subscribe(TOPIC);
          ws.send(JSON.stringify({ type: "subscribed", all_uploads: true }));
        }
      },
    },
  });
  const subscriber = new Redis(redisUrl, { maxRetriesPerRequest: null });
  await subscriber.subscribe(BASELINE_CHANNEL);
  subscriber.on("message", (_channel, raw) => {
    const tick = JSON.parse(raw) as {
      videoId: number;
      revision: number;
      stage: string;
      percent: number;
      etaSeconds: number | null;
      at?: number;
    };
    // The fields and order of the api's message (api/realtime/service.ts), so both send the same bytes.
    server.publish(
      TOPIC,
      JSON.stringify({
        type: "video.progress",
        id: tick.videoId,
        revision: tick.revision,
        state: "processing",
        percent: Math.round(tick.percent * 10) / 10,
        stage: tick.stage,
        eta_seconds: tick.etaSeconds,
        at: tick.at ?? null,
      }),
    );
  });
  return {
    url: `ws://127.0.0.1:${server.port}/`,
    server,
    async stop() {
      subscriber.disconnect();
      await server.stop(true);
    },
  };
}
