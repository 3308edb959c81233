// The imports of a set of source files, read with TypeScript's own parser (the tsgo API of the
// `typescript` devDependency), so `import type`, `export … from`, `import("…")`, `require("…")` and
// `typeof import("…")` are all seen, and nothing in a comment, a string or JSX text is mistaken for one.
// Bun.Transpiler's scanImports() would be lighter, but it drops type-only imports and gives no lines.
import { statSync } from "node:fs";
import { posix, relative, resolve } from "node:path";
import { type Node, type SourceFile, SyntaxKind } from "typescript/unstable/ast";
import {
  isCallExpression,
  isExportDeclaration,
  isExternalModuleReference,
  isIdentifier,
  isImportDeclaration,
  isImportEqualsDeclaration,
  isImportTypeNode,
  isLiteralTypeNode,
  isNamedExports,
  isNamedImports,
  isNoSubstitutionTemplateLiteral,
  isStringLiteral,
} from "typescript/unstable/ast/is";
import { API } from "typescript/unstable/async";

/** The files whose imports are read; JavaScript too, since a `.js` file in `api/` is bound by the same rules. */
export const SOURCE_EXTENSIONS = [".ts", ".tsx", ".mts", ".cts", ".js", ".jsx", ".mjs", ".cjs"];

export type ImportKind =
  | "import"
  | "export-from"
  | "dynamic-import"
  | "require"
  | "import-type"
  | "import-equals";

export interface ImportEdge {
  /** the importing file, relative to the root */
  file: string;
  /** 1-based line of the module specifier */
  line: number;
  specifier: string;
  kind: ImportKind;
  /** erased at run time: `import type`, `import { type A }` (every name a type), `typeof import("…")` */
  typeOnly: boolean;
}

/**
 * Every import of `files` (paths relative to `root`). `contents` holds files that exist only in memory (or
 * replace what is on disk), so a caller can ask "what if this file said…" without writing to the tree.
 */
export async function readImports(
  root: string,
  files: readonly string[],
  contents: ReadonlyMap<string, string> = new Map(),
): Promise<ImportEdge[]> {
  const edges: ImportEdge[] = [];
  await parseSources(root, files, contents, (file, sourceFile) => collectImports(file, sourceFile, edges));
  return edges;
}

/**
 * Parses `files` (relative to `root`, `contents` as in readImports) with TypeScript's parser and hands each
 * syntax tree to `visit`, in the order given; the trees are valid only during the call.
 */
export async function parseSources(
  root: string,
  files: readonly string[],
  contents: ReadonlyMap<string, string>,
  visit: (file: string, sourceFile: SourceFile) => void,
): Promise<void> {
  const absoluteRoot = resolve(root);
  // A tsconfig that exists only for this run: exactly these files, no resolution, no lib, so the parse is
  // all tsgo does (well under a second for the whole repo).
  const configPath = `${absoluteRoot}/__check-deps__.tsconfig.json`;
  const config = JSON.stringify({
    compilerOptions: {
      allowJs: true,
      allowImportingTsExtensions: true,
      jsx: "preserve",
      module: "preserve",
      moduleResolution: "bundler",
      noEmit: true,
      noLib: true,
      noResolve: true,
      types: [],
    },
    files: files.map((file) => `${absoluteRoot}/${file}`),
  });
  const inMemory = (path: string): string | undefined =>
    path === configPath ? config : contents.get(relative(absoluteRoot, path));
  const api = new API({
    cwd: absoluteRoot,
    fs: {
      readFile: (path) => inMemory(path),
      fileExists: (path) => (inMemory(path) === undefined ? undefined : true),
    },
  });
  try {
    const snapshot = await api.updateSnapshot({ openProjects: [configPath] });
    const project = snapshot.getProjects()[0];
    if (!project) throw new Error("the TypeScript API opened no project for the file list");
    for (const file of files) {
      const sourceFile = await project.program.getSourceFile(`${absoluteRoot}/${file}`);
      if (!sourceFile) throw new Error(`the TypeScript API did not parse ${file}`);
      visit(file, sourceFile);
    }
  } finally {
    await api.close();
  }
}

function collectImports(file: string, sourceFile: SourceFile, edges: ImportEdge[]): void {
  const add = (specifierNode: Node | undefined, kind: ImportKind, typeOnly: boolean): void => {
    if (
      !specifierNode ||
      !(isStringLiteral(specifierNode) || isNoSubstitutionTemplateLiteral(specifierNode))
    ) {
      return; // a computed specifier (`import(name)`) names no file we could check
    }
    const { line } = sourceFile.getLineAndCharacterOfPosition(specifierNode.getStart(sourceFile));
    edges.push({ file, line: line + 1, specifier: specifierNode.text, kind, typeOnly });
  };
  const visit = (node: Node): void => {
    if (isImportDeclaration(node)) {
      const clause = node.importClause;
      const bindings = clause?.namedBindings;
      const everyNameIsAType =
        !clause?.name &&
        bindings !== undefined &&
        isNamedImports(bindings) &&
        bindings.elements.length > 0 &&
        bindings.elements.every((element) => element.isTypeOnly);
      add(
        node.moduleSpecifier,
        "import",
        clause?.phaseModifier === SyntaxKind.TypeKeyword || everyNameIsAType,
      );
    } else if (isExportDeclaration(node)) {
      const names = node.exportClause;
      const everyNameIsAType =
        names !== undefined &&
        isNamedExports(names) &&
        names.elements.length > 0 &&
        names.elements.every((element) => element.isTypeOnly);
      add(node.moduleSpecifier, "export-from", node.isTypeOnly || everyNameIsAType);
    } else if (isImportEqualsDeclaration(node) && isExternalModuleReference(node.moduleReference)) {
      add(node.moduleReference.expression, "import-equals", node.isTypeOnly);
    } else if (isImportTypeNode(node) && isLiteralTypeNode(node.argument)) {
      add(node.argument.literal, "import-type", true);
    } else if (isCallExpression(node)) {
      if (node.expression.kind === SyntaxKind.ImportKeyword) add(node.arguments[0], "dynamic-import", false);
      else if (isIdentifier(node.expression) && node.expression.text === "require") {
        add(node.arguments[0], "require", false);
      }
    }
    node.forEachChild(visit);
  };
  visit(sourceFile);
}

// `import "./x.js"` names `x.ts` when only that exists (TypeScript's rule for emitted paths).
const TYPESCRIPT_TWIN: Record<string, string> = {
  ".js": ".ts",
  ".jsx": ".tsx",
  ".mjs": ".mts",
  ".cjs": ".cts",
};

/**
 * The repo path a relative (or in-repo absolute) specifier names, trying what Bun and TypeScript try:
 * the path itself, the path plus an extension, `.js` standing for `.ts`, and `<dir>/index.*`. `undefined`
 * for a package (`elysia`, `node:fs`, `bun:test`) or a path outside the root. A relative path that matches no
 * file is returned as written, so a rule still sees where it points.
 */
export function resolveSpecifier(
  root: string,
  importer: string,
  specifier: string,
  exists: (path: string) => boolean,
): string | undefined {
  let target: string;
  if (specifier.startsWith("./") || specifier.startsWith("../") || specifier === "." || specifier === "..") {
    target = posix.normalize(posix.join(posix.dirname(importer), specifier));
  } else if (specifier.startsWith("/")) {
    target = relative(resolve(root), specifier);
  } else {
    return undefined;
  }
  if (target === ".." || target.startsWith("../")) return undefined;
  target = target.replace(/\/$/, "");
  const candidates = [
    target,
    ...SOURCE_EXTENSIONS.map((extension) => `${target}${extension}`),
    ...Object.entries(TYPESCRIPT_TWIN).map(([js, ts]) =>
      target.endsWith(js) ? target.slice(0, -js.length) + ts : "",
    ),
    ...SOURCE_EXTENSIONS.map((extension) => `${target}/index${extension}`),
  ].filter((candidate) => candidate !== "");
  return candidates.find(exists) ?? target;
}

/** Whether `path` (relative to `root`) is a file on disk; a directory is not. */
export function fileOnDisk(root: string, path: string): boolean {
  return statSync(resolve(root, path), { throwIfNoEntry: false })?.isFile() ?? false;
}
