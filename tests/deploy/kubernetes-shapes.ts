import { join } from 'node:path';
import ts from 'typescript';
import { type Json, ROOT, isObject } from './deploy-files.ts';

/**
 * kubernetes-models validates types, formats and required fields, but its schemas let
 * unknown fields through, which the API server drops without a word (or rejects, with
 * kubectl's strict field validation): a misspelt `readinesProbe` would pass. Its TypeScript
 * declarations, generated from the same OpenAPI documents, know every field, so this walks
 * a value along the declared type and reports each key the type does not have.
 */
export interface ShapeRequest {
  /** The name to ask for, e.g. apps/v1/Deployment. */
  key: string;
  /** A TypeScript type expression over `import('module')` types. */
  type: string;
}

const VIRTUAL_FILE = join(ROOT, 'tests/deploy/__kubernetes_shapes__.ts');

export class ShapeChecker {
  private readonly checker: ts.TypeChecker;
  private readonly types = new Map<string, ts.Type>();

  constructor(wanted: readonly ShapeRequest[]) {
    const requests = [...new Map(wanted.map((r) => [r.key, r])).values()];
    const source = `export interface Shapes {\n${requests.map((r) => `  ${JSON.stringify(r.key)}: ${r.type};`).join('\n')}\n}\n`;
    const options: ts.CompilerOptions = {
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.ESNext,
      moduleResolution: ts.ModuleResolutionKind.Bundler,
      strict: true,
      noEmit: true,
      skipLibCheck: true,
      types: [],
    };
    const host = ts.createCompilerHost(options, true);
    const getSourceFile = host.getSourceFile.bind(host);
    host.getSourceFile = (name, languageVersion, onError, shouldCreate) =>
      name === VIRTUAL_FILE ? ts.createSourceFile(name, source, languageVersion, true) : getSourceFile(name, languageVersion, onError, shouldCreate);
    host.fileExists = (name) => name === VIRTUAL_FILE || ts.sys.fileExists(name);
    host.readFile = (name) => (name === VIRTUAL_FILE ? source : ts.sys.readFile(name));
    const program = ts.createProgram([VIRTUAL_FILE], options, host);
    const file = program.getSourceFile(VIRTUAL_FILE);
    if (!file) throw new Error('the shapes file did not load');
    const problems = ts.getPreEmitDiagnostics(program, file).map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
    if (problems.length > 0) throw new Error(`Kubernetes types did not resolve: ${problems.join('; ')}`);
    this.checker = program.getTypeChecker();
    const shapes = file.statements.find(ts.isInterfaceDeclaration);
    if (!shapes) throw new Error('no Shapes interface');
    const shapesType = this.checker.getTypeAtLocation(shapes);
    for (const request of requests) {
      const property = this.checker.getPropertyOfType(shapesType, request.key);
      if (!property) throw new Error(`no shape ${request.key}`);
      this.types.set(request.key, this.checker.getTypeOfSymbol(property));
    }
  }

  /** JSON pointers of the fields of `value` that the shape `key` does not declare. */
  unknownFields(key: string, value: Json): string[] {
    const type = this.types.get(key);
    if (!type) throw new Error(`no shape ${key}`);
    return this.walk(type, value, '');
  }

  private walk(declared: ts.Type, value: Json, path: string): string[] {
    if (value === null || typeof value !== 'object') return [];
    const type = this.checker.getNonNullableType(declared);
    if (type.flags & ts.TypeFlags.Any) return [];
    if (type.isUnion()) {
      const candidates = type.types.filter((t) => (Array.isArray(value) ? this.checker.isArrayType(t) : this.isObjectShape(t)));
      let fewest: string[] | undefined;
      for (const candidate of candidates) {
        const found = this.walk(candidate, value, path);
        if (found.length === 0) return [];
        if (!fewest || found.length < fewest.length) fewest = found;
      }
      return fewest ?? [];
    }
    if (Array.isArray(value)) {
      if (!this.checker.isArrayType(type)) return [];
      const element = this.checker.getTypeArguments(type as ts.TypeReference)[0];
      return element ? value.flatMap((item, i) => this.walk(element, item, `${path}/${i}`)) : [];
    }
    if (!this.isObjectShape(type) || !isObject(value)) return [];
    const index = this.checker.getIndexInfoOfType(type, ts.IndexKind.String);
    return Object.entries(value).flatMap(([name, item]) => {
      const property = this.checker.getPropertyOfType(type, name);
      if (property) return this.walk(this.checker.getTypeOfSymbol(property), item, `${path}/${name}`);
      if (index) return this.walk(index.type, item, `${path}/${name}`);
      return [`${path}/${name}`];
    });
  }

  private isObjectShape(type: ts.Type): boolean {
    return (type.flags & ts.TypeFlags.Object) !== 0 && !this.checker.isArrayType(type);
  }
}

/** kubernetes-models' module for an apiVersion and kind: apps/v1 + Deployment → kubernetes-models/apps/v1/Deployment. */
export const kubernetesModelModule = (apiVersion: string, kind: string) => `kubernetes-models/${apiVersion}/${kind}`;

export const kubernetesShape = (apiVersion: string, kind: string): ShapeRequest => ({
  key: `${apiVersion}/${kind}`,
  type: `import(${JSON.stringify(kubernetesModelModule(apiVersion, kind))}).I${kind}`,
});

/** ObjectMeta, for the metadata of custom resources. */
export const OBJECT_META: ShapeRequest = {
  key: 'ObjectMeta',
  type: `NonNullable<import("kubernetes-models/v1/ConfigMap").IConfigMap["metadata"]>`,
};
