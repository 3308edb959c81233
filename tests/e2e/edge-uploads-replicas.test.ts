// A tus upload through the real edge (nginx with the project's config) in front of two api processes
// on one PostgreSQL, Redis and media store (API_UPSTREAM lists both). tus-js-client sends a generated
// video in 8 MiB chunks; each replica's own request log shows the chunks alternating between them. The
// replica that served the latest chunk is then frozen, the edge hands it the next chunk but one, and it
// is SIGKILLed with that chunk in flight: the client gets the edge's 502, resumes (HEAD) on the
// survivor, and the killed replica is started again on its port. The final PATCH goes to both replicas at once, beside the
// client's own; the upload becomes one video, byte for byte the file sent, which a transcoder makes
// ready. On the local file system and on S3 (a SeaweedFS bucket through the project's driver).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { eq } from "drizzle-orm";
import { DefaultHttpStack, type HttpRequest, type HttpStack } from "tus-js-client";
import { videos } from "../../db/schema/index.ts";
import { generateVideo } from "../../dev/media.ts";
import { freePort, testS3 } from "../../dev/services.ts";
import { type RunningEdge, startEdge } from "../../infra/nginx/edge.ts";
import { ADMIN_ENV, adminClient, sessionHeaders } from "../support/admin.ts";
import { type ApiProcess, killWithRequestInFlight, startApiProcess } from "../support/api-process.ts";
import { eventually } from "../support/eventually.ts";
import { startTranscoder, untilState } from "../support/farm.ts";
import { type Client, startTestApi, type TestApi } from "../support/test-api.ts";
import { patchHeaders, sha256Hex, tusClientUpload, tusRequest } from "../support/tus.ts";

const MiB = 1024 * 1024;
const CHUNK_BYTES = 8 * MiB;
const MEDIA_TOKEN_SECRET = "edge-replicas-media-secret-0123456789abcdef";
/** PATCHes answered before the replica that served the last of them is frozen. */
const CHUNKS_BEFORE_FREEZE = 3;

const workDir = mkdtempSync(join(tmpdir(), "vf-edge-replicas-"));
let file: Uint8Array;

beforeAll(async () => {
  // Lossless, so that 8 seconds at 640×360 make ~46 MiB: six chunks from a source that transcodes fast.
  const path = await generateVideo(join(workDir, "film.mp4"), {
    seconds: 8,
    width: 640,
    height: 360,
    fps: 30,
    audio: "stereo",
    codec: "h264-lossless",
  });
  file = await Bun.file(path).bytes();
  // The plan below needs chunks after the freeze: the next one, the one in flight, and the final one.
  expect(Math.ceil(file.byteLength / CHUNK_BYTES)).toBeGreaterThanOrEqual(CHUNKS_BEFORE_FREEZE + 3);
}, 60_000);
afterAll(() => rmSync(workDir, { recursive: true, force: true }));

interface Sent {
  method: string;
  offset: number;
}
interface Answered extends Sent {
  status: number;
  requestId: string | undefined;
  videoId: string | undefined;
}

/**
 * tus-js-client's own HTTP stack, except that the final PATCH (the one that ends at the file's size) is
 * also sent, at the same moment and with the same body, to each replica's own port.
 */
class FinalPatchToEveryReplica implements HttpStack {
  private readonly inner = new DefaultHttpStack({});
  duplicates: Promise<Response[]> | null = null;

  constructor(
    private readonly send: (path: string, offset: number, body: Uint8Array) => Promise<Response[]>,
  ) {}

  createRequest(method: string, url: string): HttpRequest {
    const request = this.inner.createRequest(method, url);
    const send = request.send.bind(request);
    request.send = (body) => {
      const offset = Number(request.getHeader("Upload-Offset"));
      if (method === "PATCH" && body instanceof Uint8Array && offset + body.byteLength === file.byteLength) {
        this.duplicates ??= this.send(new URL(url).pathname, offset, body);
      }
      return send(body);
    };
    return request;
  }

  getName(): string {
    return "FinalPatchToEveryReplica";
  }
}

const drivers = [
  { name: "local file system", s3: false },
  { name: "S3 (SeaweedFS)", s3: true },
] as const;

for (const driver of drivers) {
  describe(`two api replicas behind the edge, ${driver.name}`, () => {
    let bucket: Awaited<ReturnType<typeof testS3>> | null = null;
    let owner: TestApi;
    let edge: RunningEdge;
    let admin: Client;
    /** The replicas by name; a restarted one replaces its entry, its earlier self stays in `retired`. */
    const replicas = new Map<string, ApiProcess>();
    const retired: ApiProcess[] = [];
    let replicaEnv: Record<string, string>;

    beforeAll(async () => {
      bucket = driver.s3 ? await testS3() : null;
      const storageEnv: Record<string, string> = bucket ? { ...bucket.env } : {};
      // The test's own view of the shared stores (it makes the database, Redis and media root); it is
      // not behind the edge and applies no transcoder events.
      owner = await startTestApi(
        { ...ADMIN_ENV, ...storageEnv, MEDIA_TOKEN_SECRET },
        { consumeEvents: false },
      );
      const edgePort = await freePort();
      replicaEnv = {
        ...ADMIN_ENV,
        ...storageEnv,
        MEDIA_TOKEN_SECRET,
        PUBLIC_URL: `http://127.0.0.1:${edgePort}`,
        TRUST_PROXY: "true",
      };
      const started = await Promise.all(
        ["a", "b"].map(async (name) => startApiProcess(owner, name, await freePort(), replicaEnv)),
      );
      for (const replica of started) replicas.set(replica.name, replica);
      edge = await startEdge({
        port: edgePort,
        apiUpstream: started.map((replica) => `127.0.0.1:${replica.port}`),
        mediaRoot: owner.config.mediaRoot,
        mediaTokenSecret: MEDIA_TOKEN_SECRET,
        sharedMaxAgeSeconds: owner.config.mediaTokenTtlSeconds,
        corsOrigins: [],
      });
      admin = await adminClient(edge);
    }, 120_000);
    afterAll(async () => {
      await edge?.stop();
      await Promise.all([...replicas.values()].map((replica) => replica.stop()));
      await owner?.stop();
      await bucket?.drop();
    });

    /** The replica whose request log has this request id (nginx's $request_id, echoed by the api). */
    const servedBy = (requestId: string | undefined) =>
      eventually(`the replica that logged request ${requestId}`, async () =>
        [...replicas.values(), ...retired].find((replica) =>
          replica.requests().some((logged) => logged.req_id === requestId),
        ),
      );

    test("chunks alternate, a replica killed mid-chunk, the final PATCH on both: one video, ready", async () => {
      const startedAt = performance.now();
      const sent: Sent[] = [];
      const answered: Answered[] = [];
      /** Which replica answered each PATCH before the freeze, by its own log. */
      const patchServers: string[] = [];
      let victim: ApiProcess | null = null;
      let kill: Promise<void> | null = null;
      let unreadAtKill = 0;

      const stack = new FinalPatchToEveryReplica((path, offset, body) =>
        Promise.all(
          [...replicas.values()].map((replica) =>
            tusRequest(
              `${replica.url}${path}`,
              "PATCH",
              admin,
              patchHeaders(offset, { "x-request-id": `final-to-${replica.name}` }),
              body,
            ),
          ),
        ),
      );
      const { url } = await tusClientUpload(file, {
        endpoint: `${edge.url}/api/uploads/`,
        chunkSize: CHUNK_BYTES,
        retryDelays: [0, 250, 500, 1000, 2000],
        headers: sessionHeaders(admin),
        metadata: { title: `Two replicas, ${driver.name}`, category: "Edge", filename: "film.mp4" },
        httpStack: stack,
        onBeforeRequest: async (request) => {
          const entry = {
            method: request.getMethod(),
            offset: Number(request.getHeader("Upload-Offset") ?? -1),
          };
          sent.push(entry);
          // The final PATCH waits for the killed replica to be back, so that both can race on it.
          if (entry.method === "PATCH" && entry.offset + CHUNK_BYTES >= file.byteLength) await kill;
        },
        onAfterResponse: async (request, response) => {
          const entry: Answered = {
            method: request.getMethod(),
            offset: Number(request.getHeader("Upload-Offset") ?? -1),
            status: response.getStatus(),
            requestId: response.getHeader("x-request-id"),
            videoId: response.getHeader("video-id"),
          };
          answered.push(entry);
          if (entry.method !== "PATCH" || entry.status !== 204 || victim) return;
          const server = await servedBy(entry.requestId);
          patchServers.push(server.name);
          if (patchServers.length < CHUNKS_BEFORE_FREEZE) return;
          // Frozen, it still accepts what the edge sends it; killed once a request waits there unread.
          const frozen = server;
          victim = frozen;
          kill = (async () => {
            unreadAtKill = await killWithRequestInFlight(frozen);
            retired.push(frozen);
            replicas.set(frozen.name, await startApiProcess(owner, frozen.name, frozen.port, replicaEnv));
          })();
        },
      });
      const uploadedAt = performance.now();
      expect(kill).not.toBeNull();
      await kill;
      const killed = victim as ApiProcess | null;
      const survivor = [...replicas.values()].find((replica) => replica.name !== killed!.name)!;

      // Before the freeze: every PATCH went to the other replica than the one before it.
      expect(patchServers).toHaveLength(CHUNKS_BEFORE_FREEZE);
      for (let i = 1; i < patchServers.length; i++) expect(patchServers[i]).not.toBe(patchServers[i - 1]);
      const patchesOf = (replica: ApiProcess) =>
        replica.requests().filter((logged) => logged.method === "PATCH" && logged.status === 204).length;
      // The frozen replica answered nothing more: what it served, it served before the freeze.
      expect(patchesOf(killed!)).toBe(patchServers.filter((name) => name === killed!.name).length);
      expect(unreadAtKill).toBeGreaterThan(0);

      // The chunk in flight to it failed at the client, which asked for the offset (HEAD) and sent that
      // chunk again: to the survivor.
      const inFlight = sent.filter((request) => request.method === "PATCH")[CHUNKS_BEFORE_FREEZE + 1]!;
      expect(
        sent.filter((request) => request.method === "PATCH" && request.offset === inFlight.offset).length,
      ).toBe(2);
      expect(sent.some((request) => request.method === "HEAD")).toBe(true);
      const resumed = answered.find(
        (answer) => answer.method === "PATCH" && answer.offset === inFlight.offset && answer.status === 204,
      );
      expect((await servedBy(resumed?.requestId)).name).toBe(survivor.name);
      // nginx cannot pass a PATCH whose body it already streamed on to another replica: it answers 502.
      const failed = answered.filter((answer) => answer.status >= 500);
      expect(failed.map((answer) => [answer.method, answer.offset, answer.status])).toEqual([
        ["PATCH", inFlight.offset, 502],
      ]);

      // The final PATCH reached both replicas, each by its own log: the client's through the edge, and
      // the duplicates to each one's port.
      const duplicates = await stack.duplicates!;
      const restarted = replicas.get(killed!.name)!;
      for (const replica of [survivor, restarted]) {
        const final = await eventually(`${replica.name} to log its final PATCH`, async () =>
          replica.requests().find((logged) => logged.req_id === `final-to-${replica.name}`),
        );
        expect(final.method).toBe("PATCH");
      }
      // One of the three stores the bytes and creates the video; the others find the offset moved on
      // (409) or the upload locked (423). The client, refused, asks for the offset and is done.
      const finalOffset = sent.findLast((request) => request.method === "PATCH")!.offset;
      const clientFinal = answered.filter(
        (answer) => answer.method === "PATCH" && answer.offset === finalOffset,
      );
      const finals = [...duplicates, ...clientFinal].map((answer) => answer.status);
      expect(
        finals.every((status) => [204, 409, 423].includes(status)),
        String(finals),
      ).toBe(true);
      expect(finals.filter((status) => status === 204).length, String(finals)).toBeGreaterThanOrEqual(1);
      const counts = Object.fromEntries(
        [killed!, restarted, survivor].map((replica) => [
          `${replica.name}/${replica.pid}`,
          patchesOf(replica),
        ]),
      );

      // One video, whose id every successful final answer carried, with exactly the bytes sent.
      const uploadId = url.split("/").at(-1)!;
      const answer = await admin.get(`/api/uploads/${uploadId}/video`);
      expect(answer.status).toBe(200);
      const { id } = (await answer.json()) as { id: number };
      const ids = [
        ...duplicates.filter((dup) => dup.status === 204).map((dup) => dup.headers.get("video-id")),
        ...clientFinal.filter((final) => final.status === 204).map((final) => final.videoId),
      ];
      expect(
        ids.every((videoId) => videoId === String(id)),
        String(ids),
      ).toBe(true);
      const rows = await owner.database.db
        .select()
        .from(videos)
        .where(eq(videos.title, `Two replicas, ${driver.name}`));
      expect(rows.map((row) => row.id)).toEqual([id]);
      expect(rows[0]!.sourceBytes).toBe(file.byteLength);
      const chunks: Uint8Array[] = [];
      for await (const chunk of owner.runtime.storage.readStream(rows[0]!.sourceKey)) chunks.push(chunk);
      expect(sha256Hex(Buffer.concat(chunks))).toBe(sha256Hex(file));

      // A transcoder makes it ready; the replicas apply its events.
      const transcoder = startTranscoder(
        owner,
        `edge-replicas-${driver.s3 ? "s3" : "local"}`,
        bucket?.env ?? {},
      );
      try {
        const ready = await untilState(admin, id, "ready", 120_000);
        expect(ready.renditions.length).toBeGreaterThan(0);
      } finally {
        await transcoder.stop();
      }
      const seconds = (from: number, to: number) => ((to - from) / 1000).toFixed(1);
      console.log(
        `edge replicas (${driver.name}): ${(file.byteLength / MiB).toFixed(1)} MiB; PATCH 204s by replica/pid ` +
          `${JSON.stringify(counts)}; before the freeze ${patchServers.join(" ")}; ${unreadAtKill} B unread at the kill; ` +
          `final PATCH answers (to each replica, client's) ${finals.join(" ")}; ` +
          `upload ${seconds(startedAt, uploadedAt)} s, ` +
          `with the transcode ${seconds(startedAt, performance.now())} s`,
      );
    }, 240_000);
  });
}
