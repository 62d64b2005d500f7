import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, parseAllDocuments } from 'yaml';

/** Reading the deployment files (compose.yaml, deploy/, Makefile) the way their tools do. */

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const K8S_DIR = join(ROOT, 'deploy/k8s');
export const OVERLAYS = ['local', 'eks'] as const;

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };
export interface K8sObject extends JsonObject {
  apiVersion: string;
  kind: string;
}

export const isObject = (value: unknown): value is JsonObject => typeof value === 'object' && value !== null && !Array.isArray(value);
export const rel = (file: string) => relative(ROOT, file);
export const readText = (file: string) => readFileSync(file, 'utf8');

/** Every document of a YAML file; a syntax error or a duplicate key fails, as kubectl and Compose would. */
export function yamlDocuments(file: string): Json[] {
  return parseAllDocuments(readText(file), { merge: true, uniqueKeys: true })
    .map((doc) => {
      if (doc.errors.length > 0) throw new Error(`${rel(file)}: ${doc.errors.map((e) => e.message).join('; ')}`);
      return doc.toJS({ maxAliasCount: 1000 }) as Json;
    })
    .filter((value) => value !== null && value !== undefined);
}

export function yamlFile(file: string): Json {
  return parse(readText(file), { merge: true, uniqueKeys: true }) as Json;
}

export function filesUnder(dir: string, test: (file: string) => boolean): string[] {
  return readdirSync(dir)
    .flatMap((entry) => {
      const path = join(dir, entry);
      return statSync(path).isDirectory() ? filesUnder(path, test) : test(path) ? [path] : [];
    })
    .sort();
}

export const isKubernetesObject = (value: Json): value is K8sObject =>
  isObject(value) && typeof value.apiVersion === 'string' && typeof value.kind === 'string';

/** What a YAML file under deploy/k8s is, by its content. */
export type K8sFileRole = 'manifests' | 'kustomization' | 'json-patch' | 'kind-cluster';
export function roleOf(file: string): K8sFileRole {
  const docs = yamlDocuments(file);
  if (docs.length === 1 && Array.isArray(docs[0])) return 'json-patch';
  if (docs.every(isKubernetesObject)) {
    const kinds = docs.map((d) => `${d.apiVersion}/${d.kind}`);
    if (kinds.every((k) => k === 'kustomize.config.k8s.io/v1beta1/Kustomization')) return 'kustomization';
    if (kinds.every((k) => k === 'kind.x-k8s.io/v1alpha4/Cluster')) return 'kind-cluster';
    return 'manifests';
  }
  throw new Error(`${rel(file)}: neither Kubernetes objects, a kustomization, a kind cluster nor a JSON patch`);
}

export const k8sYamlFiles = () => filesUnder(K8S_DIR, (f) => /\.ya?ml$/.test(f));

/** Every object of every manifest file under deploy/k8s, with where it came from. */
export function manifestObjects(): { file: string; object: K8sObject }[] {
  return k8sYamlFiles()
    .filter((file) => roleOf(file) === 'manifests')
    .flatMap((file) => yamlDocuments(file).map((object) => ({ file, object: object as K8sObject })));
}

// ---- kustomize, the part the overlays use: resources (files and directories) and JSON 6902 patches ----

const KUSTOMIZATION_KEYS = new Set(['apiVersion', 'kind', 'resources', 'patches']);
const PATCH_KEYS = new Set(['path', 'target']);
const TARGET_KEYS = new Set(['group', 'version', 'kind', 'name', 'namespace']);

const clone = <T>(value: T): T => structuredClone(value);

function targetMatches(object: K8sObject, target: JsonObject): boolean {
  const [group, version] = object.apiVersion.includes('/') ? object.apiVersion.split('/') : ['', object.apiVersion];
  const metadata = isObject(object.metadata) ? object.metadata : {};
  return (
    (target.group === undefined || target.group === group) &&
    (target.version === undefined || target.version === version) &&
    (target.kind === undefined || target.kind === object.kind) &&
    (target.name === undefined || target.name === metadata.name) &&
    (target.namespace === undefined || target.namespace === metadata.namespace)
  );
}

const pointer = (path: string) =>
  path
    .split('/')
    .slice(1)
    .map((part) => part.replace(/~1/g, '/').replace(/~0/g, '~'));

/** RFC 6902 add, replace and remove (the operations the overlays use); anything else is an error. */
export function applyJsonPatch(target: JsonObject, operations: Json): void {
  if (!Array.isArray(operations)) throw new Error('a JSON patch is a list of operations');
  for (const operation of operations) {
    if (!isObject(operation) || typeof operation.op !== 'string' || typeof operation.path !== 'string') throw new Error(`bad operation ${JSON.stringify(operation)}`);
    const parts = pointer(operation.path);
    const last = parts.pop();
    if (last === undefined) throw new Error(`bad path ${operation.path}`);
    let parent: Json = target;
    for (const part of parts) {
      const next: Json | undefined = Array.isArray(parent) ? parent[Number(part)] : isObject(parent) ? parent[part] : undefined;
      if (next === undefined) throw new Error(`${operation.path}: ${part} does not exist`);
      parent = next;
    }
    if (Array.isArray(parent)) {
      const index = last === '-' ? parent.length : Number(last);
      if (operation.op === 'add') parent.splice(index, 0, clone(operation.value as Json));
      else if (operation.op === 'replace' && index < parent.length) parent[index] = clone(operation.value as Json);
      else if (operation.op === 'remove' && index < parent.length) parent.splice(index, 1);
      else throw new Error(`${operation.op} ${operation.path}: not applicable`);
    } else if (isObject(parent)) {
      if (operation.op === 'add') parent[last] = clone(operation.value as Json);
      else if (operation.op === 'replace' && last in parent) parent[last] = clone(operation.value as Json);
      else if (operation.op === 'remove' && last in parent) delete parent[last];
      else throw new Error(`${operation.op} ${operation.path}: not applicable`);
    } else {
      throw new Error(`${operation.path}: the parent is not an object or a list`);
    }
  }
}

/** The objects `kubectl kustomize <dir>` prints, for the features the kustomizations here use. */
export function renderKustomization(dir: string): K8sObject[] {
  const file = join(dir, 'kustomization.yaml');
  const k = yamlFile(file);
  if (!isObject(k)) throw new Error(`${rel(file)}: not a mapping`);
  for (const key of Object.keys(k)) if (!KUSTOMIZATION_KEYS.has(key)) throw new Error(`${rel(file)}: ${key} is not supported here`);
  const objects: K8sObject[] = [];
  for (const resource of (k.resources ?? []) as string[]) {
    const path = resolve(dir, resource);
    if (!existsSync(path)) throw new Error(`${rel(file)}: resource ${resource} does not exist`);
    if (statSync(path).isDirectory()) objects.push(...renderKustomization(path));
    else objects.push(...(yamlDocuments(path) as K8sObject[]).map(clone));
  }
  for (const patch of (k.patches ?? []) as JsonObject[]) {
    for (const key of Object.keys(patch)) if (!PATCH_KEYS.has(key)) throw new Error(`${rel(file)}: patch ${key} is not supported here`);
    const target = patch.target as JsonObject;
    for (const key of Object.keys(target)) if (!TARGET_KEYS.has(key)) throw new Error(`${rel(file)}: target ${key} is not supported here`);
    const operations = yamlFile(join(dir, String(patch.path)));
    const matched = objects.filter((o) => targetMatches(o, target));
    if (matched.length === 0) throw new Error(`${rel(file)}: patch ${String(patch.path)} matches nothing`);
    for (const object of matched) applyJsonPatch(object, operations);
  }
  return objects;
}

export const renderOverlay = (overlay: string) => renderKustomization(join(K8S_DIR, 'overlays', overlay));

export const objectKey = (o: K8sObject) => {
  const metadata = isObject(o.metadata) ? o.metadata : {};
  return `${o.apiVersion}/${o.kind}/${String(metadata.namespace ?? '')}/${String(metadata.name ?? '')}`;
};

/** `kubectl kustomize <dir>` when kubectl is installed; undefined otherwise. */
export function kubectlKustomize(dir: string): K8sObject[] | undefined {
  try {
    execFileSync('kubectl', ['version', '--client'], { stdio: 'ignore' });
  } catch {
    return undefined;
  }
  const output = execFileSync('kubectl', ['kustomize', dir], { encoding: 'utf8' });
  return parseAllDocuments(output)
    .map((d) => d.toJS() as Json)
    .filter(isKubernetesObject);
}

// ---- the other files ----

export const composeFile = () => yamlFile(join(ROOT, 'compose.yaml')) as JsonObject;

/** The value a `${NAME:-default}`, `${NAME-default}` or `${NAME}` reference takes with nothing set. */
export const composeDefault = (value: string) =>
  value.replace(/\$\{([A-Z0-9_]+)(:?-([^}]*))?\}/g, (_m, _name: string, _op: string | undefined, fallback: string | undefined) => fallback ?? '');

/** `NAME ?= value` and `NAME := value` assignments of the Makefile, with $(VAR) references expanded. */
export function makefileVariables(): Record<string, string> {
  const variables: Record<string, string> = {};
  for (const line of readText(join(ROOT, 'Makefile')).split('\n')) {
    const match = line.match(/^([A-Z0-9_]+)\s*(\?=|:=|=)\s*(.*)$/);
    if (match?.[1] && match[3] !== undefined && !(match[1] in variables)) variables[match[1]] = match[3].trim();
  }
  const expand = (value: string, depth = 0): string =>
    depth > 10 ? value : value.replace(/\$\(([A-Z0-9_]+)\)/g, (_m, name: string) => expand(variables[name] ?? '', depth + 1));
  return Object.fromEntries(Object.entries(variables).map(([name, value]) => [name, expand(value)]));
}

export const dirOf = (file: string) => dirname(file);
