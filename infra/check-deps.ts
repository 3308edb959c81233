// `bun run check:deps`: fails, naming file, line, import and rule, when a file imports across a boundary of
// the layout (docs/ARCHITECTURE.md, "Layout"). The rules are the table below; the imports are read
// by TypeScript's parser (infra/check-deps/imports.ts), type-only, re-exports and dynamic ones included.
//
// Glob syntax of the table: `*` is part of one path segment, `**` any number of segments, and `<name>`
// captures one segment in `from` that `allow` can use again (`api/<feature>/**` allows `api/<feature>/**`:
// the importer's own feature).
import {
  fileOnDisk,
  type ImportEdge,
  readImports,
  resolveSpecifier,
  SOURCE_EXTENSIONS,
} from "./check-deps/imports.ts";

export interface Rule {
  /** the importing files the rule governs */
  from: string[];
  /** importing files the rule leaves out although `from` matches */
  fromExcept?: string[];
  /** the repo files they must not import */
  forbid: string[];
  /** imported files that stay allowed although `forbid` matches */
  allow?: string[];
  /** imported files that stay allowed when the import is type-only (erased at run time) */
  allowTypeOnly?: string[];
  /** why; ends every failure line of this rule */
  why: string;
}

/** Importers no rule governs: tests, beside a module or under tests/, may import anything. */
export const EXEMPT = ["tests/**", "**/*.test.ts", "**/*.test.tsx", "**/*.test.js"];

/** The api modules every feature may import: plumbing, and the auth plugin's public surface. */
export const API_SHARED_MODULES = [
  "api/http/**",
  "api/shared/**",
  "api/config/**",
  "api/auth/plugin.ts",
  "api/auth/session.ts",
];
/** Folders of api/ that are shared plumbing rather than a feature (each has its own rule below). */
const API_SHARED_FOLDERS = ["api/http/**", "api/shared/**", "api/config/**"];
const PRODUCTION = [
  "api",
  "transcoder",
  "contract",
  "db",
  "emails",
  "storage",
  "config",
  "connections",
  "dev",
  "studio",
];

/** A top-level folder that imports nothing of ours but itself. */
function standsAlone(folder: string, why: string): Rule {
  return { from: [`${folder}/**`], forbid: ["**"], allow: [`${folder}/**`], why };
}

// In order: an import that breaks several rules is reported once, with the first. Inside api/ the layers
// are: api/http/ and api/config/ (import nothing else of api/) ← api/shared/ ← features ← api/*.ts.
export const RULES: Rule[] = [
  {
    from: PRODUCTION.map((folder) => `${folder}/**`),
    forbid: ["tests/**"],
    why: "production code never imports tests/ (move what it needs out of tests/)",
  },
  standsAlone("contract", "contract/ imports nothing of ours: the api and the transcoder both build on it"),
  {
    from: ["transcoder/**"],
    forbid: ["**"],
    allow: ["transcoder/**", "contract/**", "config/**", "connections/**", "storage/**"],
    why: "the transcoder never reaches the api or the database, it reports through Redis (of ours it imports contract/, config/, connections/, storage/)",
  },
  // This rule and the next three also keep db/ and emails/ off api/.
  {
    from: ["db/**"],
    forbid: ["**"],
    allow: ["db/**"],
    allowTypeOnly: ["contract/**"],
    why: "db/ imports nothing of ours but contract/, and that only as types (`import type`)",
  },
  standsAlone("emails", "emails/ imports nothing of ours: templates and the mailer stand alone"),
  standsAlone("storage", "storage/ imports nothing of ours: the media drivers stand alone"),
  standsAlone("config", "config/ imports nothing of ours: every process parses its settings with it"),
  standsAlone(
    "connections",
    "connections/ imports nothing of ours: every process opens its Redis connections and logs their errors with it",
  ),
  standsAlone(
    "studio",
    "studio/ imports nothing of ours: the admin web app talks to the server only through its public API",
  ),
  // The design card's "may import" column for api/; it is what keeps the api off transcoder/ internals.
  {
    from: ["api/**"],
    forbid: ["**"],
    allow: ["api/**", "contract/**", "config/**", "connections/**", "db/**", "emails/**", "storage/**"],
    why: "of ours the api imports only contract/, config/, connections/, db/, emails/, storage/ (it reaches the transcoder through Redis and contract/)",
  },
  {
    // api/*.ts (app.ts, runtime.ts, main.ts) is the composition root and may import every feature.
    from: ["api/<feature>/**"],
    fromExcept: [...API_SHARED_FOLDERS, "api/compat/**"],
    forbid: ["api/*/**"],
    allow: ["api/<feature>/**", ...API_SHARED_MODULES],
    why: "one api feature never imports another's internals (use a shared module: api/shared/…)",
  },
  {
    // The design card's api/compat/<dialect>/: thin adapters over the services the composition root
    // hands them. They name those services and their shapes, as types only, and build none of them.
    from: ["api/compat/**"],
    forbid: ["api/*/**"],
    allow: ["api/compat/**", ...API_SHARED_MODULES],
    allowTypeOnly: ["api/*/service.ts", "api/*/model.ts"],
    why: "a dialect (api/compat/) adapts the services it is handed: of other features it imports only their service.ts and model.ts, as types (`import type`)",
  },
  {
    from: ["api/http/**"],
    forbid: ["api/*/**"],
    allow: ["api/http/**"],
    why: "api/http/ is the plumbing under every api module: it imports nothing else of api/",
  },
  {
    from: ["api/shared/**"],
    forbid: ["api/*/**"],
    allow: ["api/shared/**", "api/config/**", "api/http/**"],
    why: "api/shared/ is used by every feature: it imports no feature (of api/, only api/config/ and api/http/)",
  },
  {
    from: ["api/config/**"],
    forbid: ["api/*/**"],
    allow: ["api/config/**"],
    why: "api/config/ is read by every api module: it imports nothing else of api/",
  },
];

export interface ProjectEdge extends ImportEdge {
  /** the repo file imported */
  target: string;
}

export interface Violation extends ProjectEdge {
  rule: Rule;
}

export interface DepsReport {
  /** the files read, relative to the root */
  files: string[];
  imports: number;
  /** the imports that name a file of the repo rather than a package */
  projectEdges: ProjectEdge[];
  violations: Violation[];
}

export interface CheckOptions {
  root: string;
  /** the files to read, relative to root; by default what git tracks plus untracked files it does not ignore */
  files?: string[];
  /** files that exist only in memory (added to `files`) or replace a file's text on disk */
  contents?: Record<string, string>;
  rules?: Rule[];
  exempt?: string[];
}

export async function checkDeps(options: CheckOptions): Promise<DepsReport> {
  const { root, rules = RULES, exempt = EXEMPT } = options;
  const contents = new Map(Object.entries(options.contents ?? {}));
  const listed = options.files ?? (await gitFiles(root));
  const files = [...new Set([...listed, ...contents.keys()])].filter(
    (file) =>
      SOURCE_EXTENSIONS.some((extension) => file.endsWith(extension)) &&
      (contents.has(file) || fileOnDisk(root, file)),
  );
  const known = new Set(files);
  const exists = (path: string): boolean => known.has(path) || fileOnDisk(root, path);
  const exemptGlobs = exempt.map((glob) => compileGlob(glob));
  const edges = await readImports(root, files, contents);
  const projectEdges: ProjectEdge[] = [];
  const violations: Violation[] = [];
  for (const edge of edges) {
    const target = resolveSpecifier(root, edge.file, edge.specifier, exists);
    if (target === undefined) continue;
    projectEdges.push({ ...edge, target });
    if (exemptGlobs.some((glob) => glob.test(edge.file))) continue;
    const rule = rules.find((candidate) => breaks(candidate, edge, target));
    if (rule) violations.push({ ...edge, target, rule });
  }
  violations.sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line);
  return { files, imports: edges.length, projectEdges, violations };
}

function breaks(rule: Rule, edge: ImportEdge, target: string): boolean {
  const importer = rule.from.map((glob) => compileGlob(glob).exec(edge.file)).find((match) => match !== null);
  if (!importer || (rule.fromExcept ?? []).some((glob) => compileGlob(glob).test(edge.file))) return false;
  const captures = { ...importer.groups };
  const matches = (globs: string[] | undefined): boolean =>
    (globs ?? []).some((glob) => compileGlob(glob, captures).test(target));
  if (!matches(rule.forbid) || matches(rule.allow)) return false;
  return !(edge.typeOnly && matches(rule.allowTypeOnly));
}

/** A glob of the table as an anchored regular expression; `<name>` becomes `captures[name]` when given. */
export function compileGlob(glob: string, captures?: Record<string, string>): RegExp {
  const key = captures ? `${glob}\0${JSON.stringify(captures)}` : glob;
  let compiled = compiledGlobs.get(key);
  if (!compiled) {
    compiled = globToRegExp(glob, captures);
    compiledGlobs.set(key, compiled);
  }
  return compiled;
}
const compiledGlobs = new Map<string, RegExp>();

function globToRegExp(glob: string, captures: Record<string, string> | undefined): RegExp {
  const segments = glob.split("/");
  let source = "";
  segments.forEach((segment, index) => {
    const last = index === segments.length - 1;
    if (segment === "**") {
      source += last ? ".*" : "(?:[^/]+/)*";
      return;
    }
    source += segment.replace(/<(\w+)>|\*|[^<*]+/g, (token, name?: string) => {
      if (name !== undefined)
        return captures?.[name] !== undefined ? escapeRegExp(captures[name]) : `(?<${name}>[^/]+)`;
      return token === "*" ? "[^/]*" : escapeRegExp(token);
    });
    if (!last) source += "/";
  });
  return new RegExp(`^${source}$`);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

async function gitFiles(root: string): Promise<string[]> {
  const output = await Bun.$`git ls-files -z --cached --others --exclude-standard`.cwd(root).quiet().text();
  return output.split("\0").filter((file) => file !== "");
}

export function formatViolation(violation: Violation): string {
  return `${violation.file}:${violation.line} imports ${violation.target} — ${violation.rule.why}`;
}

if (import.meta.main) {
  const rootFlag = process.argv.indexOf("--root");
  const root = rootFlag === -1 ? `${import.meta.dir}/..` : process.argv[rootFlag + 1];
  if (!root) {
    console.error("usage: bun infra/check-deps.ts [--root <dir>]");
    process.exit(2);
  }
  const report = await checkDeps({ root }).catch((error: unknown) => {
    console.error(
      `check:deps: could not read the imports: ${error instanceof Error ? error.message : error}`,
    );
    process.exit(2);
  });
  const count = (n: number): string => n.toLocaleString("en-US");
  if (report.violations.length === 0) {
    console.log(
      `check:deps: ${count(report.files.length)} files, ${count(report.imports)} imports (${count(report.projectEdges.length)} of ours), no forbidden edge`,
    );
  } else {
    for (const violation of report.violations) console.error(formatViolation(violation));
    console.error(
      `check:deps: ${count(report.violations.length)} forbidden ${report.violations.length === 1 ? "edge" : "edges"} in ${count(report.files.length)} files`,
    );
    process.exit(1);
  }
}
