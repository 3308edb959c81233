// What a compose parser cannot see, checked on the configuration `docker compose config --format json`
// rendered (both files merged, every profile): infra/check-ops.sh runs it as
//   bun infra/check-compose.ts <merged.json>
// and it prints one line per problem and exits 1 when there is any. The variables the api and the
// transcoder read are found by running their config loaders on an environment that records every read,
// so a new setting fails here until compose and .env.example pass it on.
import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { loadConfig } from "../api/config/load.ts";
import { loadTranscoderConfig } from "../transcoder/config.ts";

interface Service {
  image?: string;
  build?: { context: string; dockerfile?: string };
  restart?: string;
  init?: boolean;
  profiles?: string[];
  container_name?: string;
  ports?: unknown[];
  environment?: Record<string, string | null>;
  healthcheck?: { disable?: boolean; test?: string[] };
  depends_on?: Record<string, { condition: string; required?: boolean }>;
  entrypoint?: string[] | null;
  command?: string[] | null;
  stop_grace_period?: string;
  volumes?: {
    type: string;
    source?: string;
    target: string;
    read_only?: boolean;
    bind?: { create_host_path?: boolean };
  }[];
}
interface Project {
  services: Record<string, Service>;
}

const ROOT = resolve(import.meta.dir, "..");
/** Run to completion and exit: restart "no", no healthcheck of their own. */
const ONE_SHOTS = new Set(["migrate", "k6"]);
/** Third-party images whose own HEALTHCHECK is kept. */
const IMAGE_HEALTHCHECKS: Record<string, string> = { mailpit: "axllent/mailpit (mailpit readyz)" };
/** Settings deliberately not passed to the containers, and why. */
const API_NOT_PASSED: Record<string, string> = {
  PGLITE_DIR: "compose always sets DATABASE_URL",
  MAIL_DIR: "the api image sets it (/app/var/mail)",
};
const TRANSCODER_NOT_PASSED: Record<string, string> = {
  TRANSCODER_NAME: "unset, each replica is named after its container ($HOSTNAME-<pid>)",
  HOSTNAME: "Docker sets it per container",
};
const MEDIA_TOKEN_SECRET = "MEDIA_TOKEN_SECRET";
/**
 * The media storage driver's settings (storage/), passed to the api and every transcoder whether or not
 * their config loaders read them yet, so that STORAGE_URL=s3://… in .env reaches both sides together.
 */
const STORAGE_SETTINGS = [
  "STORAGE_URL",
  "S3_ENDPOINT",
  "S3_REGION",
  "S3_ACCESS_KEY_ID",
  "S3_SECRET_ACCESS_KEY",
  "S3_FORCE_PATH_STYLE",
  "S3_PUBLIC_ENDPOINT",
  "STORAGE_SWEEP_INTERVAL_SECONDS",
  "STAGING_MAX_IDLE_SECONDS",
];
const API_STORAGE_SETTINGS = ["RETIRED_REVISION_GRACE_SECONDS"];
const TRANSCODER_STORAGE_SETTINGS = ["TRANSCODER_SCRATCH"];
/** The s3 profile's object store; its one S3 identity comes from these (SeaweedFS's own names). */
const OBJECT_STORE = "seaweedfs";
const OBJECT_STORE_KEYS = {
  AWS_ACCESS_KEY_ID: "S3_ACCESS_KEY_ID",
  AWS_SECRET_ACCESS_KEY: "S3_SECRET_ACCESS_KEY",
};

const problems: string[] = [];
const problem = (message: string) => problems.push(message);

/** Every variable a config loader reads, whatever it decides about them. */
function variablesRead(load: (env: Record<string, string | undefined>) => unknown): Set<string> {
  const read = new Set<string>();
  const env = new Proxy({} as Record<string, string | undefined>, {
    get(_target, name) {
      if (typeof name === "string") read.add(name);
      return undefined;
    },
  });
  load(env);
  return read;
}

/** Seconds of a Go duration as compose prints it ("1m0s", "30s", "1h0m0s"). */
function seconds(duration: string | undefined): number | null {
  if (!duration) return null;
  const match = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+(?:\.\d+)?)s)?$/.exec(duration);
  if (!match) return null;
  return Number(match[1] ?? 0) * 3600 + Number(match[2] ?? 0) * 60 + Number(match[3] ?? 0);
}

function checkServices(project: Project) {
  for (const [name, service] of Object.entries(project.services)) {
    const oneShot = ONE_SHOTS.has(name);
    const ours = service.build?.dockerfile?.startsWith("infra/docker/") ?? false;
    if (oneShot && service.restart !== "no") problem(`${name}: a one-shot needs restart: "no"`);
    if (!oneShot && service.restart !== "unless-stopped")
      problem(`${name}: restart is "${service.restart ?? "unset"}", expected unless-stopped`);
    if (!oneShot && seconds(service.stop_grace_period) === null)
      problem(`${name}: no stop_grace_period (how long SIGTERM has before SIGKILL)`);
    const ownHealthcheck = service.healthcheck && !service.healthcheck.disable;
    const sharesOurImage = Object.values(project.services).some(
      (other) => other.build?.dockerfile?.startsWith("infra/docker/") && other.image === service.image,
    );
    if (!oneShot && !ownHealthcheck && !ours && !IMAGE_HEALTHCHECKS[name])
      problem(`${name}: no healthcheck (and its image's is not known to have one)`);
    if (oneShot && sharesOurImage && !service.healthcheck?.disable)
      problem(`${name}: a one-shot on one of our images must disable the image's HEALTHCHECK`);
    for (const [target, dependency] of Object.entries(service.depends_on ?? {})) {
      if (!["service_healthy", "service_completed_successfully"].includes(dependency.condition))
        problem(`${name}: depends_on ${target} with condition ${dependency.condition} (wait for healthy)`);
      if (!project.services[target]) problem(`${name}: depends_on ${target}, which is not a service`);
    }
    for (const volume of service.volumes ?? []) {
      // A missing source is only fine where Docker is told not to create it (a file a command writes
      // first, such as the load-test seed): then `up` fails naming it instead of mounting an empty folder.
      const created = volume.bind?.create_host_path !== false;
      if (volume.type === "bind" && volume.source && created && !existsSync(volume.source))
        problem(`${name}: bind mount source ${volume.source} does not exist (Docker would create a folder)`);
    }
  }
}

function mediaVolume(name: string, service: Service, readOnly: boolean) {
  const media = service.volumes?.find((volume) => volume.target === "/media");
  if (media?.type !== "volume" || media.source !== "media")
    problem(`${name}: the shared media volume is not mounted at /media`);
  else if (Boolean(media.read_only) !== readOnly)
    problem(`${name}: the media volume should be ${readOnly ? "read-only" : "writable"}`);
}

function passes(name: string, service: Service, variables: Set<string>, exempt: Record<string, string>) {
  const environment = service.environment ?? {};
  for (const variable of variables) {
    if (!(variable in environment) && !exempt[variable])
      problem(`${name}: ${variable} (read by its config) is not passed in environment`);
  }
}

function checkApi(project: Project, variables: Set<string>) {
  for (const name of ["api", "migrate"]) {
    const service = project.services[name];
    if (!service) {
      problem(`no ${name} service`);
      continue;
    }
    passes(name, service, variables, API_NOT_PASSED);
    const env = service.environment ?? {};
    if (env.NODE_ENV !== "production") problem(`${name}: NODE_ENV must be production`);
    if (!env.DATABASE_URL?.startsWith("postgres://"))
      problem(`${name}: DATABASE_URL must point at PostgreSQL`);
  }
  const api = project.services.api;
  if (!api) return;
  passesAll("api", api, [...STORAGE_SETTINGS, ...API_STORAGE_SETTINGS]);
  waitsForObjectStore("api", api);
  mediaVolume("api", api, false);
  // The edge is another container: the api must believe X-Forwarded-For from compose's private ranges.
  if (!/172\.16\.0\.0\/12/.test(String(api.environment?.TRUST_PROXY ?? ""))) {
    problem("api: behind the edge, TRUST_PROXY must name the compose network's range (172.16.0.0/12)");
  }
  if (api.depends_on?.migrate?.condition !== "service_completed_successfully")
    problem("api: must wait for migrate (service_completed_successfully)");
  if (api.container_name) problem("api: container_name stops --scale api=N");
  if (api.ports?.length)
    problem("api: publishes host ports; only the edge should (and --scale api=N clashes)");
}

function passesAll(name: string, service: Service, settings: string[]) {
  for (const setting of settings) {
    if (!(setting in (service.environment ?? {})))
      problem(`${name}: ${setting} (media storage) is not passed in environment`);
  }
}

/** With the s3 profile the api and transcoders wait for the store; without it they must still start. */
function waitsForObjectStore(name: string, service: Service) {
  const dependency = service.depends_on?.[OBJECT_STORE];
  if (dependency?.condition !== "service_healthy" || dependency.required !== false)
    problem(
      `${name}: must depend on ${OBJECT_STORE} (service_healthy, required: false: only the s3 profile has it)`,
    );
}

function checkObjectStore(project: Project) {
  const store = project.services[OBJECT_STORE];
  if (!store) return problem(`no ${OBJECT_STORE} service (profile s3)`);
  if (!store.profiles?.includes("s3")) problem(`${OBJECT_STORE}: must be in the s3 profile only`);
  if (!/^chrislusf\/seaweedfs:\d+\.\d+$/.test(store.image ?? ""))
    problem(`${OBJECT_STORE}: image ${store.image} is not a pinned chrislusf/seaweedfs:<version> tag`);
  const data = store.volumes?.find((volume) => volume.target === "/data");
  if (data?.type !== "volume")
    problem(`${OBJECT_STORE}: /data (volumes and filer metadata) is not a named volume`);
  const env = store.environment ?? {};
  for (const [own, ours] of Object.entries(OBJECT_STORE_KEYS)) {
    if (!env[own] || env[own] !== project.services.api?.environment?.[ours])
      problem(
        `${OBJECT_STORE}: ${own} is not the api's ${ours} (its identity must be the keys the driver signs with)`,
      );
  }
  refusesWithoutKeys(store);
}

/**
 * Runs the service's entrypoint guard here: without keys SeaweedFS would serve every bucket to anyone,
 * so it must stop (78) naming them; with keys it must go on (to the image's entrypoint, absent here).
 */
function refusesWithoutKeys(store: Service) {
  const [shell, flag, script, ...args] = store.entrypoint ?? [];
  if (shell !== "/bin/sh" || flag !== "-c" || !script)
    return problem(
      `${OBJECT_STORE}: the entrypoint is not the /bin/sh -c guard that refuses to start without keys`,
    );
  // `config` prints $$ for a literal $, as compose would read it back.
  const run = (env: Record<string, string>) =>
    Bun.spawnSync(["sh", "-c", script.replaceAll("$$", "$"), ...args], {
      env: { PATH: "/usr/bin:/bin", ...env },
    });
  const without = run({});
  if (without.exitCode !== 78 || !without.stderr.toString().includes("S3_SECRET_ACCESS_KEY"))
    problem(
      `${OBJECT_STORE}: without keys the entrypoint exits ${without.exitCode}, not 78 naming the variables`,
    );
  for (const missing of Object.keys(OBJECT_STORE_KEYS)) {
    const partial = Object.fromEntries(
      Object.keys(OBJECT_STORE_KEYS).map((key) => [key, key === missing ? "" : "k"]),
    );
    if (run(partial).exitCode !== 78) problem(`${OBJECT_STORE}: the entrypoint starts without ${missing}`);
  }
  if (run({ AWS_ACCESS_KEY_ID: "k", AWS_SECRET_ACCESS_KEY: "s" }).exitCode === 78)
    problem(`${OBJECT_STORE}: the entrypoint refuses to start even with both keys`);
}

function checkTranscoders(project: Project, variables: Set<string>) {
  const transcoders = Object.entries(project.services).filter(([name]) => name.startsWith("transcoder"));
  if (!transcoders.some(([name]) => name === "transcoder")) problem("no transcoder service");
  for (const [name, service] of transcoders) {
    if (service.container_name) problem(`${name}: container_name stops --scale ${name}=N`);
    if (service.ports?.length) problem(`${name}: publishes host ports, which clash under --scale ${name}=N`);
    if (!service.init) problem(`${name}: init: true reaps FFmpeg's children and forwards SIGTERM`);
    mediaVolume(name, service, false);
    passes(name, service, variables, TRANSCODER_NOT_PASSED);
    passesAll(name, service, [...STORAGE_SETTINGS, ...TRANSCODER_STORAGE_SETTINGS]);
    waitsForObjectStore(name, service);
    const scratch = service.environment?.TRANSCODER_SCRATCH ?? "";
    // Its own folder: replicas on object storage share nothing on disk, and a crash leaves nothing shared.
    if (!scratch.startsWith("/") || scratch.startsWith("/media"))
      problem(`${name}: TRANSCODER_SCRATCH ${scratch || "(unset)"} must be a container path outside /media`);
    const grace = Number(service.environment?.TRANSCODER_SHUTDOWN_GRACE_SECONDS || 20);
    const stop = seconds(service.stop_grace_period);
    // After the grace: stop FFmpeg, remove its staging folder, move the job back, close Redis.
    if (stop === null || stop < grace + 15)
      problem(
        `${name}: stop_grace_period ${service.stop_grace_period ?? "unset"} leaves no time to hand the job ` +
          `back after TRANSCODER_SHUTDOWN_GRACE_SECONDS=${grace} (needs at least ${grace + 15}s)`,
      );
    if (service.environment?.TRANSCODER_METRICS_PORT !== "9464")
      problem(`${name}: TRANSCODER_METRICS_PORT must be 9464 (Prometheus and the HEALTHCHECK use it)`);
  }
}

function checkEdge(project: Project) {
  const edge = project.services.edge;
  if (!edge) return problem("no edge service");
  mediaVolume("edge", edge, true);
  const env = edge.environment ?? {};
  if (env.JWT_SECRET !== undefined)
    problem("edge: must not hold JWT_SECRET (it gets MEDIA_TOKEN_SECRET only)");
  if (env[MEDIA_TOKEN_SECRET] !== project.services.api?.environment?.[MEDIA_TOKEN_SECRET])
    problem("edge: MEDIA_TOKEN_SECRET differs from the api's (signed segment URLs would all fall back)");
  if (env.API_UPSTREAM !== `api:${project.services.api?.environment?.PORT}`)
    problem(`edge: API_UPSTREAM ${env.API_UPSTREAM} is not the api service's port`);
  const render = edge.volumes?.find((volume) => volume.target.startsWith("/docker-entrypoint.d/"));
  if (!render?.source || !/\.sh$/.test(render.target))
    problem("edge: infra/nginx/render-edge.sh is not mounted as a /docker-entrypoint.d/*.sh hook");
  else {
    // The official image skips a hook that is not executable, and nginx would serve its welcome page.
    const mode = Bun.spawnSync(["git", "ls-files", "-s", render.source], { cwd: ROOT }).stdout.toString();
    if (mode && !mode.startsWith("100755")) problem(`edge: ${render.source} is not executable in git`);
  }
}

/**
 * The tls profile: certbot writes the certificates and the challenges into two volumes the edge reads
 * (read-only), the edge answers challenges from where certbot writes them, and the edge holds the
 * certificate settings while certbot holds no secret of the api's.
 */
function checkTls(project: Project) {
  const { edge, certbot } = project.services;
  if (!edge || !certbot) return problem("no certbot service (profile tls) next to the edge");
  if (JSON.stringify(certbot.profiles) !== '["tls"]') problem("certbot: must be in the tls profile only");
  const acmeRoot = edge.environment?.EDGE_ACME_ROOT;
  for (const [volume, edgeTarget] of [
    ["letsencrypt", "/etc/letsencrypt"],
    ["acme-webroot", acmeRoot],
  ] as const) {
    const read = edge.volumes?.find((mount) => mount.source === volume);
    const written = certbot.volumes?.find((mount) => mount.source === volume);
    if (read?.type !== "volume" || !read.read_only || read.target !== edgeTarget)
      problem(`edge: the ${volume} volume must be mounted read-only at ${edgeTarget}`);
    if (written?.type !== "volume" || written.read_only)
      problem(`certbot: the ${volume} volume must be mounted writable`);
  }
  if (certbot.volumes?.find((mount) => mount.source === "acme-webroot")?.target !== "/var/www/acme")
    problem("certbot: the webroot (certbot-renew, README) is /var/www/acme: mount acme-webroot there");
  for (const setting of [
    "EDGE_TLS_CERT",
    "EDGE_TLS_KEY",
    "EDGE_HSTS_MAX_AGE",
    "EDGE_HTTPS_PORT",
    "PUBLIC_URL",
  ])
    if (!(setting in (edge.environment ?? {}))) problem(`edge: ${setting} is not passed in environment`);
  if (edge.environment?.PUBLIC_URL !== project.services.api?.environment?.PUBLIC_URL)
    problem("edge: PUBLIC_URL differs from the api's (its origin gets CORS on segments)");
  for (const secret of ["JWT_SECRET", MEDIA_TOKEN_SECRET])
    if (certbot.environment?.[secret] !== undefined) problem(`certbot: must not hold ${secret}`);
}

function checkPrometheus(project: Project) {
  const config = readFileSync(join(ROOT, "infra/monitoring/prometheus.yml"), "utf8");
  const targets = [
    { service: "api", port: project.services.api?.environment?.PORT },
    { service: "transcoder", port: project.services.transcoder?.environment?.TRANSCODER_METRICS_PORT },
  ];
  for (const { service, port } of targets) {
    const scrape = new RegExp(`names: \\[${service}\\]\\s+type: A\\s+port: ${port}\\b`);
    if (!scrape.test(config)) problem(`prometheus.yml: no dns_sd_configs for ${service} on port ${port}`);
  }
}

const PROMQL_WORDS = new Set(["by", "without", "on", "ignoring", "group_left", "group_right", "and", "or"]);
const PROMQL_WORDS_MORE = new Set(["unless", "bool", "offset", "inf", "nan"]);

function checkDashboards() {
  const datasources = readFileSync(
    join(ROOT, "infra/monitoring/grafana/provisioning/datasources/prometheus.yml"),
    "utf8",
  );
  const uid = /uid: (\S+)/.exec(datasources)?.[1];
  const defined = new Set(["up"]);
  for (const file of ["api/metrics/service.ts", "transcoder/metrics.ts"]) {
    for (const match of readFileSync(join(ROOT, file), "utf8").matchAll(/name: "([a-z_:][a-z0-9_:]*)"/g))
      defined.add(match[1] as string);
  }
  const folder = join(ROOT, "infra/monitoring/grafana/dashboards");
  for (const file of new Bun.Glob("*.json").scanSync(folder)) {
    let dashboard: { panels?: Panel[] };
    try {
      dashboard = JSON.parse(readFileSync(join(folder, file), "utf8"));
    } catch (error) {
      problem(`${file}: not JSON: ${(error as Error).message}`);
      continue;
    }
    for (const panel of dashboard.panels ?? []) {
      if (panel.type === "row") continue;
      if (panel.datasource?.uid !== uid)
        problem(`${file}: panel "${panel.title}" does not use datasource ${uid}`);
      for (const target of panel.targets ?? []) {
        for (const metric of metricNames(target.expr ?? "")) {
          const base = metric.replace(/_(bucket|sum|count)$/, "");
          if (!defined.has(metric) && !defined.has(base))
            problem(`${file}: panel "${panel.title}" queries ${metric}, which no service exports`);
        }
      }
    }
  }
}

interface Panel {
  type: string;
  title: string;
  datasource?: { uid?: string };
  targets?: { expr?: string }[];
}

/** Metric names in a PromQL expression: identifiers that are not functions, keywords or label names. */
function metricNames(expr: string): string[] {
  const bare = expr
    .replace(/"[^"]*"/g, "")
    .replace(/\{[^}]*\}/g, "")
    .replace(/\[[^\]]*\]/g, "")
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, "");
  return [...bare.matchAll(/\b([a-zA-Z_:][a-zA-Z0-9_:]*)\b(?!\s*\()/g)]
    .map((match) => match[1] as string)
    .filter((word) => !PROMQL_WORDS.has(word) && !PROMQL_WORDS_MORE.has(word.toLowerCase()));
}

function checkEnvExample(read: Set<string>) {
  const variables = new Set([
    ...read,
    ...STORAGE_SETTINGS,
    ...API_STORAGE_SETTINGS,
    ...TRANSCODER_STORAGE_SETTINGS,
  ]);
  const example = readFileSync(join(ROOT, ".env.example"), "utf8");
  for (const variable of variables) {
    if (variable === "HOSTNAME") continue;
    if (!new RegExp(`^#? ?${variable}=`, "m").test(example))
      problem(`.env.example: ${variable} (read by the api or the transcoder) is not listed`);
  }
}

const file = process.argv[2];
if (!file) {
  console.error("usage: bun infra/check-compose.ts <docker compose config --format json output>");
  process.exit(2);
}
const project = JSON.parse(readFileSync(file, "utf8")) as Project;
const apiVariables = variablesRead(loadConfig);
const transcoderVariables = variablesRead(loadTranscoderConfig);
checkServices(project);
checkApi(project, apiVariables);
checkTranscoders(project, transcoderVariables);
checkEdge(project);
checkTls(project);
checkObjectStore(project);
checkPrometheus(project);
checkDashboards();
checkEnvExample(new Set([...apiVariables, ...transcoderVariables]));

for (const message of problems) console.log(`problem: ${message}`);
if (problems.length > 0) process.exit(1);
console.log(
  `compose semantics ok: ${Object.keys(project.services).length} services, ` +
    `${apiVariables.size} api and ${transcoderVariables.size} transcoder settings passed and documented`,
);
