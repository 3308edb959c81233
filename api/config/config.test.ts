import { describe, expect, test } from "bun:test";
import { fileURLToPath } from "node:url";
import { ConfigError, loadConfig } from "./load.ts";

const SECRET = "x".repeat(32);

/** The ConfigError that loadConfig throws for `env`; fails the test when it throws nothing or something else. */
function configError(env: Record<string, string>): ConfigError {
  try {
    loadConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error(`loadConfig(${JSON.stringify(env)}) did not throw`);
}

describe("defaults", () => {
  const config = loadConfig({});

  test("PORT 3000, PUBLIC_URL http://localhost:<PORT>, development", () => {
    expect(config.port).toBe(3000);
    expect(config.publicUrl).toBe("http://localhost:3000");
    expect(config.publicOrigin).toBe("http://localhost:3000");
    expect(config.env).toBe("development");
    expect(config.secureCookies).toBe(false);
  });

  test("token lifetimes: access 30m, refresh 7d, HLS media 6h, progressive MP4s 12h", () => {
    expect(config.accessTokenTtlSeconds).toBe(1800);
    expect(config.refreshTokenTtlSeconds).toBe(604800);
    expect(config.mediaTokenTtlSeconds).toBe(6 * 3600);
    expect(config.mediaMp4TokenTtlSeconds).toBe(12 * 3600);
    expect(loadConfig({ MEDIA_MP4_TOKEN_TTL: "7d" }).mediaMp4TokenTtlSeconds).toBe(7 * 86400);
  });

  test("no DATABASE_URL selects embedded PGlite", () => {
    expect(config.databaseUrl).toBeNull();
    expect(config.pgliteDir).toBe("./var/pglite");
  });

  test("a database query gets 5 s (DATABASE_QUERY_TIMEOUT_MS), at least 2 s when set", () => {
    expect(config.databaseQueryTimeoutMs).toBe(5000);
    expect(loadConfig({ DATABASE_QUERY_TIMEOUT_MS: "2500" }).databaseQueryTimeoutMs).toBe(2500);
    expect(configError({ DATABASE_QUERY_TIMEOUT_MS: "500" }).message).toContain("DATABASE_QUERY_TIMEOUT_MS");
  });

  test("no JWT_SECRET in development: a random 32-byte secret, flagged ephemeral", () => {
    expect(config.jwtSecretIsEphemeral).toBe(true);
    expect(config.jwtSecret.length).toBeGreaterThanOrEqual(32);
    expect(loadConfig({}).jwtSecret).not.toBe(config.jwtSecret);
  });

  test("PUBLIC_URL default follows PORT", () => {
    expect(loadConfig({ PORT: "8080" }).publicUrl).toBe("http://localhost:8080");
  });
});

test("values are parsed: trailing slashes stripped, durations, https → secure cookies", () => {
  const config = loadConfig({
    PUBLIC_URL: "https://api.example.com/",
    FRONTEND_URL: "https://app.example.com//",
    DATABASE_URL: "postgres://u:p@db:5432/videoflix",
    ACCESS_TOKEN_TTL: "15m",
    REFRESH_TOKEN_TTL: "2d",
    JWT_SECRET: SECRET,
    CORS_ORIGINS: "https://app.example.com/, https://admin.example.com",
  });
  expect(config.publicUrl).toBe("https://api.example.com");
  expect(config.frontendUrl).toBe("https://app.example.com");
  expect(config.secureCookies).toBe(true);
  expect(config.databaseUrl).toBe("postgres://u:p@db:5432/videoflix");
  expect(config.accessTokenTtlSeconds).toBe(900);
  expect(config.refreshTokenTtlSeconds).toBe(172800);
  expect(config.jwtSecret).toBe(SECRET);
  expect(config.jwtSecretIsEphemeral).toBe(false);
  expect(config.corsOrigins).toEqual(["https://app.example.com", "https://admin.example.com"]);
});

test("the config is deeply frozen", () => {
  const config = loadConfig({ ADMIN_EMAIL: "admin@example.com", ADMIN_PASSWORD: "long-enough-pw" });
  expect(Object.isFrozen(config)).toBe(true);
  expect(Object.isFrozen(config.admin)).toBe(true);
  expect(Object.isFrozen(config.corsOrigins)).toBe(true);
  expect(Object.isFrozen(config.rateLimits)).toBe(true);
  expect(Object.isFrozen(config.rateLimits.login.ip)).toBe(true);
  expect(() => {
    (config as { port: number }).port = 1;
  }).toThrow(TypeError);
  expect(() => {
    (config.rateLimits.login.ip as { limit: number }).limit = 1e9;
  }).toThrow(TypeError);
  expect(config.port).toBe(3000);
  expect(config.rateLimits.login.ip.limit).toBe(30);
});

describe("a malformed value throws a ConfigError naming the variable", () => {
  const cases: [string, Record<string, string>, string][] = [
    ["PORT not a number", { PORT: "abc" }, "PORT"],
    ["PORT out of range", { PORT: "70000" }, "PORT"],
    ["DATABASE_URL not postgres", { DATABASE_URL: "mysql://x" }, "DATABASE_URL"],
    ["REDIS_URL not a URL", { REDIS_URL: "not a url" }, "REDIS_URL"],
    ["ACCESS_TOKEN_TTL not a duration", { ACCESS_TOKEN_TTL: "soon" }, "ACCESS_TOKEN_TTL"],
    [
      "MEDIA_MP4_TOKEN_TTL past a presigned URL's 7 days",
      { MEDIA_MP4_TOKEN_TTL: "8d" },
      "MEDIA_MP4_TOKEN_TTL",
    ],
    ["MEDIA_MP4_TOKEN_TTL under a minute", { MEDIA_MP4_TOKEN_TTL: "30" }, "MEDIA_MP4_TOKEN_TTL"],
    ["CORS_ORIGINS with a path", { CORS_ORIGINS: "http://a.com/path" }, "CORS_ORIGINS"],
    ["JWT_SECRET too short", { JWT_SECRET: "x".repeat(31) }, "JWT_SECRET"],
    ["ADMIN_EMAIL without ADMIN_PASSWORD", { ADMIN_EMAIL: "admin@example.com" }, "ADMIN_PASSWORD"],
    ["RATE_LIMIT_LOGIN_IP not a rate", { RATE_LIMIT_LOGIN_IP: "ten" }, "RATE_LIMIT_LOGIN_IP"],
    ["LOG_LEVEL unknown", { LOG_LEVEL: "loud" }, "LOG_LEVEL"],
    ["NODE_ENV unknown", { NODE_ENV: "staging" }, "NODE_ENV"],
    ["METRICS_TOKEN too short", { METRICS_TOKEN: "short" }, "METRICS_TOKEN"],
    ["METRICS_TOKEN with a space", { METRICS_TOKEN: "a token with spaces in it" }, "METRICS_TOKEN"],
    ["TRUST_PROXY not an address", { TRUST_PROXY: "10.0.0.0/8,proxy.local" }, "TRUST_PROXY"],
    ["TRUST_PROXY prefix too long", { TRUST_PROXY: "10.0.0.0/33" }, "TRUST_PROXY"],
    ["TRUST_PROXY IPv4-mapped", { TRUST_PROXY: "::ffff:10.0.0.0/104" }, "TRUST_PROXY"],
    ["SUPPORTED_LANGUAGES with a region", { SUPPORTED_LANGUAGES: "en,de-CH" }, "SUPPORTED_LANGUAGES"],
    ["SUPPORTED_LANGUAGES with a gap", { SUPPORTED_LANGUAGES: "en,,de" }, "SUPPORTED_LANGUAGES"],
    ["SUPPORTED_LANGUAGES twice the same", { SUPPORTED_LANGUAGES: "en,de,EN" }, "SUPPORTED_LANGUAGES"],
    ["COMPAT_DIALECTS unknown", { COMPAT_DIALECTS: "djoser,drf" }, "COMPAT_DIALECTS"],
    [
      "COMPAT_AUTHEMAIL_TOKEN_TTL too short",
      { COMPAT_AUTHEMAIL_TOKEN_TTL: "30s" },
      "COMPAT_AUTHEMAIL_TOKEN_TTL",
    ],
    [
      "COMPAT_DJOSER_FRONTEND_URL not a URL",
      { COMPAT_DJOSER_FRONTEND_URL: "app" },
      "COMPAT_DJOSER_FRONTEND_URL",
    ],
    ["REFRESH_GRACE_SECONDS too long", { REFRESH_GRACE_SECONDS: "301" }, "REFRESH_GRACE_SECONDS"],
    ["REFRESH_GRACE_SECONDS not a number", { REFRESH_GRACE_SECONDS: "10s" }, "REFRESH_GRACE_SECONDS"],
  ];
  for (const [name, env, variable] of cases) {
    test(name, () => {
      expect(configError(env).message).toContain(variable);
    });
  }
});

describe("production requires its secrets and URLs", () => {
  const complete = {
    NODE_ENV: "production",
    JWT_SECRET: SECRET,
    PUBLIC_URL: "https://api.example.com",
    FRONTEND_URL: "https://app.example.com",
  };

  test("the complete set loads, without dev defaults", () => {
    const config = loadConfig(complete);
    expect(config.env).toBe("production");
    expect(config.jwtSecretIsEphemeral).toBe(false);
    expect(config.corsOrigins).toEqual([]);
    expect(config.logLevel).toBe("info");
  });

  for (const missing of ["JWT_SECRET", "PUBLIC_URL", "FRONTEND_URL"] as const) {
    test(`without ${missing}`, () => {
      const env: Record<string, string> = { ...complete };
      delete env[missing];
      expect(configError(env).message).toContain(missing);
      // A blank value counts as missing.
      expect(configError({ ...complete, [missing]: "  " }).message).toContain(missing);
    });
  }
});

test("credentials in a malformed URL are not echoed", () => {
  const message = configError({ DATABASE_URL: "postgres://admin:s3cr3t-pw@db host/videoflix" }).message;
  expect(message).toContain("DATABASE_URL");
  expect(message).not.toContain("s3cr3t-pw");
  expect(message).not.toContain("admin:");
  const redis = configError({ REDIS_URL: "redis://:hunter2-pw@cache:port/0" }).message;
  expect(redis).toContain("REDIS_URL");
  expect(redis).not.toContain("hunter2-pw");
});

// Base64 secrets often hold "/", and a password may hold "@": neither may leak.
test("credentials holding '/' or '@' are not echoed either", () => {
  const slash = configError({ DATABASE_URL: "postgres://admin:pa/ss-word@db host/videoflix" }).message;
  expect(slash).not.toContain("ss-word");
  const at = configError({ DATABASE_URL: "postgres://admin:p@ss-word@db host/videoflix" }).message;
  expect(at).not.toContain("ss-word");
});

// URL schemes are case-insensitive.
test("TRUST_PROXY: false/unset trusts no peer, true the loopback edge, or a list of IPv4/IPv6 ranges", () => {
  expect(loadConfig({}).trustProxy).toEqual([]);
  expect(loadConfig({ TRUST_PROXY: "false" }).trustProxy).toEqual([]);
  expect(loadConfig({ TRUST_PROXY: "true" }).trustProxy).toEqual(["127.0.0.0/8", "::1/128"]);
  expect(loadConfig({ TRUST_PROXY: "10.0.0.0/8, 192.0.2.7, 2001:db8::/32" }).trustProxy).toEqual([
    "10.0.0.0/8",
    "192.0.2.7/32",
    "2001:db8::/32",
  ]);
});

test("METRICS_TOKEN: unset leaves /metrics open (null), set it is kept as given", () => {
  expect(loadConfig({}).metricsToken).toBeNull();
  expect(loadConfig({ METRICS_TOKEN: "0123456789abcdef-token" }).metricsToken).toBe("0123456789abcdef-token");
});

test("SUPPORTED_LANGUAGES: en,de by default, the first is the default, any case", () => {
  expect(loadConfig({}).supportedLanguages).toEqual(["en", "de"]);
  expect(loadConfig({ SUPPORTED_LANGUAGES: " DE, en ,fr" }).supportedLanguages).toEqual(["de", "en", "fr"]);
  expect(loadConfig({ SUPPORTED_LANGUAGES: "en" }).supportedLanguages).toEqual(["en"]);
});

test("an upper-case HTTPS PUBLIC_URL still gives secure cookies", () => {
  expect(loadConfig({ PUBLIC_URL: "HTTPS://api.example.com" }).secureCookies).toBe(true);
});

test("the api process stops at start-up with a message naming the variable", async () => {
  const root = fileURLToPath(new URL("../..", import.meta.url));
  const child = Bun.spawn([process.execPath, "api/main.ts"], {
    cwd: root,
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: process.env.HOME ?? "/tmp", PORT: "abc" },
    stdout: "pipe",
    stderr: "pipe",
  });
  const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
  const [exitCode, stderr] = await Promise.all([child.exited, new Response(child.stderr).text()]);
  clearTimeout(timer);
  expect(child.signalCode).toBeNull(); // it stopped by itself, not by our timeout
  expect(exitCode).toBe(78);
  expect(stderr).toContain("PORT");
  expect(stderr).toContain("abc");
}, 15_000);

describe("client dialects and the refresh grace window", () => {
  test("by default no dialect is enabled, every dialect's links go to FRONTEND_URL, grace 10 s", () => {
    const config = loadConfig({ FRONTEND_URL: "https://app.example.com" });
    expect(config.compat.dialects).toEqual([]);
    expect(config.compat.frontendUrls).toEqual({
      djoser: "https://app.example.com",
      authemail: "https://app.example.com",
      content: "https://app.example.com",
    });
    expect(config.refreshGraceSeconds).toBe(10);
  });

  test("COMPAT_DIALECTS is a comma list (any case, spaces, repeats), each frontend URL its own", () => {
    const config = loadConfig({
      COMPAT_DIALECTS: " Djoser, ,djoser",
      COMPAT_DJOSER_FRONTEND_URL: "http://localhost:4200/",
      REFRESH_GRACE_SECONDS: "0",
    });
    expect(config.compat.dialects).toEqual(["djoser"]);
    expect(config.compat.frontendUrls.djoser).toBe("http://localhost:4200");
    expect(config.compat.frontendUrls.content).toBe("http://localhost:5500");
    expect(config.refreshGraceSeconds).toBe(0);
  });

  test("authemail: enabled by name, its keys last COMPAT_AUTHEMAIL_TOKEN_TTL (30 days by default)", () => {
    const config = loadConfig({ COMPAT_DIALECTS: "authemail,djoser" });
    expect(config.compat.dialects).toEqual(["authemail", "djoser"]);
    expect(config.compat.authemailTokenTtlSeconds).toBe(30 * 86400);
    expect(loadConfig({ COMPAT_AUTHEMAIL_TOKEN_TTL: "90d" }).compat.authemailTokenTtlSeconds).toBe(
      90 * 86400,
    );
    expect(configError({ COMPAT_AUTHEMAIL_TOKEN_TTL: "10" }).message).toBe(
      "COMPAT_AUTHEMAIL_TOKEN_TTL must be at least 1m, got 10 s",
    );
    expect(configError({ COMPAT_AUTHEMAIL_TOKEN_TTL: "soon" }).message).toContain(
      "COMPAT_AUTHEMAIL_TOKEN_TTL",
    );
  });

  test("the content dialect is available, with its own frontend URL", () => {
    const config = loadConfig({
      COMPAT_DIALECTS: "content,djoser",
      COMPAT_CONTENT_FRONTEND_URL: "http://localhost:4202/",
    });
    expect(config.compat.dialects).toEqual(["content", "djoser"]);
    expect(config.compat.frontendUrls.content).toBe("http://localhost:4202");
    expect(config.compat.frontendUrls.djoser).toBe("http://localhost:5500");
  });

  test("an unknown dialect's message names the setting and the known ones", () => {
    expect(configError({ COMPAT_DIALECTS: "drf" }).message).toBe(
      'COMPAT_DIALECTS must be a comma list of djoser, authemail, content, got "drf"',
    );
  });
});
