// Which test files can reach one function of the repo (npm test: dev/seaweedfs.ts's weedBinary(), the one
// place that finds the SeaweedFS binary), read from the source rather than from a list that goes stale.
//
// The graph is finer than a file's imports, because nearly every test imports dev/services.ts, which
// imports dev/seaweedfs.ts for testS3() alone: its nodes are the top-level statements of each file. A
// statement reaches the statements it names (a binding of its file, or an imported name, followed through
// re-exports and `export *`), and its module's body: the statements that run on import (calls, eager
// initialisers, enums), which also reach the bodies of every module imported for its values. A test file is
// all body (its test() and describe() calls run on import), and so is the preload of bunfig.toml. Where the
// reading is unsure it errs towards reaching: a namespace import or `import()` names the whole module, a
// local that shadows a top-level name counts as that name.
import { type Node, type SourceFile, type Statement, SyntaxKind } from "typescript/unstable/ast";
import {
  isArrowFunction,
  isCallExpression,
  isClassDeclaration,
  isExportAssignment,
  isExportDeclaration,
  isFunctionDeclaration,
  isFunctionExpression,
  isIdentifier,
  isImportDeclaration,
  isInterfaceDeclaration,
  isNamedExports,
  isNamedImports,
  isNamespaceExport,
  isNamespaceImport,
  isNoSubstitutionTemplateLiteral,
  isPropertyAccessExpression,
  isStringLiteral,
  isTypeAliasDeclaration,
  isVariableStatement,
} from "typescript/unstable/ast/is";
import { parseSources, resolveSpecifier } from "../check-deps/imports.ts";

/** A top-level name of one file: `{ file: "dev/seaweedfs.ts", name: "weedBinary" }`. */
export interface Target {
  file: string;
  name: string;
}

interface TopLevel {
  /** the names it declares ("default" for `export default`) */
  names: string[];
  /** runs when its module is imported */
  eager: boolean;
  /** the identifiers it uses that are bindings of its file */
  uses: Set<string>;
  /** modules it imports at run time from inside (`import("…")`, `require("…")`), as repo paths */
  loads: string[];
}

interface ModuleFacts {
  statements: TopLevel[];
  /** local binding → the module and the name it was imported as ("*": the whole module) */
  imports: Map<string, { from: string; name: string }>;
  /** exported name → a local name of the module, or a name of another module */
  exports: Map<string, { local: string } | { from: string; name: string }>;
  starExports: string[];
  /** modules imported for their values (their bodies run when this one is imported) */
  runs: string[];
}

export interface Reach {
  /** the test files that reach the target, each with the chain of files it goes through */
  reaching: Map<string, string[]>;
  /** the test files that do not */
  notReaching: string[];
}

/**
 * Splits `tests` (paths relative to `root`) by whether they reach `target`, reading `sources` (every file
 * that may be on a path; the tests and `preload` included). `contents` as in check-deps' readImports.
 */
export async function reachingTests(options: {
  root: string;
  sources: readonly string[];
  tests: readonly string[];
  target: Target;
  preload?: readonly string[];
  contents?: ReadonlyMap<string, string>;
}): Promise<Reach> {
  const { root, target, preload = [] } = options;
  const known = new Set(options.sources);
  const resolve = (importer: string, specifier: string): string | undefined => {
    const path = resolveSpecifier(root, importer, specifier, (candidate) => known.has(candidate));
    return path !== undefined && known.has(path) ? path : undefined;
  };
  const modules = new Map<string, ModuleFacts>();
  await parseSources(root, [...known], options.contents ?? new Map(), (file, sourceFile) =>
    modules.set(file, readModule(file, sourceFile, resolve)),
  );
  const declaring = modules.get(target.file)?.statements.findIndex((s) => s.names.includes(target.name));
  if (declaring === undefined || declaring === -1) {
    throw new Error(`${target.file} declares no top-level ${target.name}: nothing to find the tests of`);
  }
  const goal = statementNode(target.file, declaring);
  const graph = new Graph(modules);
  const reaching = new Map<string, string[]>();
  const notReaching: string[] = [];
  for (const test of options.tests) {
    const chain = graph.path([test, ...preload].map(bodyNode), goal);
    if (chain) reaching.set(test, chain);
    else notReaching.push(test);
  }
  return { reaching, notReaching };
}

const bodyNode = (file: string) => `${file}#body`;
const statementNode = (file: string, index: number) => `${file}#${index}`;
const fileOf = (node: string) => node.slice(0, node.lastIndexOf("#"));

class Graph {
  private readonly edges = new Map<string, string[]>();
  constructor(private readonly modules: ReadonlyMap<string, ModuleFacts>) {}

  /** One path from any of `starts` to `goal`, as its files ("file" or "file:name"), or undefined when none. */
  path(starts: string[], goal: string): string[] | undefined {
    const cameFrom = new Map<string, string | null>(starts.map((start) => [start, null]));
    const queue = [...starts];
    for (let node = queue.shift(); node !== undefined; node = queue.shift()) {
      if (node === goal) return this.describe(node, cameFrom);
      for (const next of this.next(node)) {
        if (cameFrom.has(next)) continue;
        cameFrom.set(next, node);
        queue.push(next);
      }
    }
    return undefined;
  }

  /** The path that ends at `node`, a step per file, each named by the last declaration it went through. */
  private describe(node: string, cameFrom: ReadonlyMap<string, string | null>): string[] {
    const steps: { file: string; name?: string }[] = [];
    for (let step: string | null | undefined = node; step; step = cameFrom.get(step)) {
      const file = fileOf(step);
      const name = this.modules.get(file)?.statements[Number(step.slice(file.length + 1))]?.names[0];
      if (steps[0]?.file === file) steps[0].name ??= name;
      else steps.unshift({ file, name });
    }
    return steps.map(({ file, name }) => (name ? `${file}:${name}` : file));
  }

  private next(node: string): string[] {
    let edges = this.edges.get(node);
    if (!edges) {
      edges = this.compute(node);
      this.edges.set(node, edges);
    }
    return edges;
  }

  private compute(node: string): string[] {
    const file = fileOf(node);
    const facts = this.modules.get(file);
    if (!facts) return [];
    const part = node.slice(file.length + 1);
    if (part === "body") {
      return [
        ...facts.statements.flatMap((s, index) => (s.eager ? [statementNode(file, index)] : [])),
        ...facts.runs.map(bodyNode),
      ];
    }
    const statement = facts.statements[Number(part)];
    if (!statement) return [];
    const next = [bodyNode(file), ...statement.loads.flatMap((from) => this.exported(from, "*"))];
    for (const name of statement.uses) next.push(...this.binding(file, name));
    return next;
  }

  /** What a name used in `file` stands for: its own top-level declaration, or what it was imported as. */
  private binding(file: string, name: string, seen = new Set<string>()): string[] {
    const facts = this.modules.get(file);
    if (!facts) return [];
    const imported = facts.imports.get(name);
    if (imported) return this.exported(imported.from, imported.name, seen);
    return facts.statements.flatMap((s, index) =>
      s.names.includes(name) ? [statementNode(file, index)] : [],
    );
  }

  /** The statements behind `name` as `file` exports it ("*": all of them), and the module's body. */
  private exported(file: string, name: string, seen = new Set<string>()): string[] {
    const key = `${file}\0${name}`;
    const facts = this.modules.get(file);
    if (!facts || seen.has(key)) return [];
    seen.add(key);
    const nodes = [bodyNode(file)];
    if (name === "*") {
      facts.statements.forEach((_, index) => {
        nodes.push(statementNode(file, index));
      });
      for (const entry of facts.exports.values()) {
        if ("from" in entry) nodes.push(...this.exported(entry.from, entry.name, seen));
      }
      for (const from of facts.starExports) nodes.push(...this.exported(from, "*", seen));
      return nodes;
    }
    const entry = facts.exports.get(name);
    if (entry && "local" in entry) nodes.push(...this.binding(file, entry.local, seen));
    else if (entry) nodes.push(...this.exported(entry.from, entry.name, seen));
    else if (name !== "default") {
      for (const from of facts.starExports) nodes.push(...this.exported(from, name, seen));
    }
    return nodes;
  }
}

const textOf = (node: Node | undefined): string | undefined =>
  node && (isIdentifier(node) || isStringLiteral(node)) ? node.text : undefined;

const hasModifier = (node: Node, kind: SyntaxKind): boolean =>
  ((node as { modifiers?: readonly Node[] }).modifiers ?? []).some((modifier) => modifier.kind === kind);

function readModule(
  file: string,
  sourceFile: SourceFile,
  resolve: (importer: string, specifier: string) => string | undefined,
): ModuleFacts {
  const facts: ModuleFacts = {
    statements: [],
    imports: new Map(),
    exports: new Map(),
    starExports: [],
    runs: [],
  };
  const pending: { statement: Statement; topLevel: TopLevel }[] = [];
  for (const statement of sourceFile.statements) {
    const topLevel: TopLevel = { names: [], eager: false, uses: new Set(), loads: [] };
    facts.statements.push(topLevel);
    if (isImportDeclaration(statement)) {
      const from = resolve(file, textOf(statement.moduleSpecifier) ?? "");
      const clause = statement.importClause;
      if (!from || clause?.phaseModifier === SyntaxKind.TypeKeyword) continue;
      const bindings = clause?.namedBindings;
      if (clause?.name) facts.imports.set(clause.name.text, { from, name: "default" });
      if (bindings && isNamespaceImport(bindings)) facts.imports.set(bindings.name.text, { from, name: "*" });
      let values = Boolean(clause?.name) || (bindings !== undefined && isNamespaceImport(bindings));
      if (bindings && isNamedImports(bindings)) {
        for (const element of bindings.elements) {
          if (element.isTypeOnly) continue;
          values = true;
          const name = textOf(element.propertyName) ?? element.name.text;
          facts.imports.set(element.name.text, { from, name });
        }
      }
      // `import "./x.ts"` runs x; `import { type A } from` is erased.
      if (values || !clause) facts.runs.push(from);
      continue;
    }
    if (isExportDeclaration(statement)) {
      if (statement.isTypeOnly) continue;
      const from = statement.moduleSpecifier
        ? resolve(file, textOf(statement.moduleSpecifier) ?? "")
        : undefined;
      if (statement.moduleSpecifier && !from) continue; // a package
      const names = statement.exportClause;
      if (from) facts.runs.push(from);
      if (!names && from) facts.starExports.push(from);
      else if (names && isNamespaceExport(names) && from) {
        const exported = textOf(names.name);
        if (exported) facts.exports.set(exported, { from, name: "*" });
      } else if (names && isNamedExports(names)) {
        for (const element of names.elements) {
          if (element.isTypeOnly) continue;
          const exported = textOf(element.name);
          const local = textOf(element.propertyName) ?? exported;
          if (!exported || !local) continue;
          facts.exports.set(exported, from ? { from, name: local } : { local });
        }
      }
      continue;
    }
    if (isInterfaceDeclaration(statement) || isTypeAliasDeclaration(statement)) continue;
    const exported = hasModifier(statement, SyntaxKind.ExportKeyword);
    if (isFunctionDeclaration(statement) || isClassDeclaration(statement)) {
      if (statement.name) topLevel.names.push(statement.name.text);
      if (hasModifier(statement, SyntaxKind.DefaultKeyword)) {
        topLevel.names.push("default");
        facts.exports.set("default", { local: "default" });
      }
      // A class's static members run on import; its methods, like a function's body, when called.
      topLevel.eager =
        isClassDeclaration(statement) &&
        statement.members.some((member) => hasModifier(member, SyntaxKind.StaticKeyword));
    } else if (isVariableStatement(statement)) {
      for (const declaration of statement.declarationList.declarations) {
        collectIdentifiers(declaration.name, (name) => topLevel.names.push(name));
        const initializer = declaration.initializer;
        if (initializer && !isArrowFunction(initializer) && !isFunctionExpression(initializer)) {
          topLevel.eager = true;
        }
      }
    } else if (isExportAssignment(statement)) {
      topLevel.names.push("default");
      facts.exports.set("default", { local: "default" });
      const expression = statement.expression;
      topLevel.eager = !isArrowFunction(expression) && !isFunctionExpression(expression);
    } else {
      // Expression statements (test(), describe(), top-level await), enums, namespaces, control flow.
      topLevel.eager = true;
      const name = (statement as { name?: Node }).name;
      if (name && isIdentifier(name)) topLevel.names.push(name.text);
    }
    if (exported) {
      for (const name of topLevel.names) if (name !== "default") facts.exports.set(name, { local: name });
    }
    pending.push({ statement, topLevel });
  }
  const bindings = new Set([...facts.imports.keys(), ...facts.statements.flatMap((s) => s.names)]);
  for (const { statement, topLevel } of pending) {
    collectUses(statement, bindings, topLevel, (specifier) => resolve(file, specifier));
  }
  return facts;
}

function collectIdentifiers(node: Node, add: (name: string) => void): void {
  if (isIdentifier(node)) add(node.text);
  else node.forEachChild((child) => collectIdentifiers(child, add));
}

function collectUses(
  node: Node,
  bindings: ReadonlySet<string>,
  topLevel: TopLevel,
  resolve: (specifier: string) => string | undefined,
): void {
  if (isIdentifier(node)) {
    // `x.name` names a property, not the binding `name`.
    const parent = node.parent;
    if (bindings.has(node.text) && !(parent && isPropertyAccessExpression(parent) && parent.name === node)) {
      topLevel.uses.add(node.text);
    }
    return;
  }
  if (isCallExpression(node)) {
    const callee = node.expression;
    const dynamic =
      callee.kind === SyntaxKind.ImportKeyword || (isIdentifier(callee) && callee.text === "require");
    const specifier = node.arguments[0];
    if (dynamic && specifier && (isStringLiteral(specifier) || isNoSubstitutionTemplateLiteral(specifier))) {
      const from = resolve(specifier.text);
      if (from) topLevel.loads.push(from);
    }
  }
  node.forEachChild((child) => collectUses(child, bindings, topLevel, resolve));
}
