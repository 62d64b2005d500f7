import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { Ajv, type ValidateFunction } from 'ajv';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  type Json,
  type JsonObject,
  type K8sObject,
  K8S_DIR,
  OVERLAYS,
  isObject,
  k8sYamlFiles,
  kubectlKustomize,
  manifestObjects,
  objectKey,
  rel,
  renderKustomization,
  renderOverlay,
  roleOf,
  yamlDocuments,
  yamlFile,
} from './deploy-files.ts';
import { OBJECT_META, ShapeChecker, kubernetesModelModule, kubernetesShape } from './kubernetes-shapes.ts';

const STRIMZI = 'kafka.strimzi.io/v1beta2';
const CRD_DIR = join(K8S_DIR, 'kafka/crds');

// Every object under deploy/k8s, and every object each overlay renders to.
const fromFiles = manifestObjects().map(({ file, object }) => ({ where: rel(file), object }));
const fromOverlays = OVERLAYS.flatMap((overlay) => renderOverlay(overlay).map((object) => ({ where: `overlays/${overlay}`, object })));
const everything = [...fromFiles, ...fromOverlays];
const builtIn = everything.filter((o) => !o.object.apiVersion.startsWith('kafka.strimzi.io/'));
const strimzi = everything.filter((o) => o.object.apiVersion.startsWith('kafka.strimzi.io/'));
const label = ({ where, object }: { where: string; object: K8sObject }) => `${where}: ${object.kind} ${String((object.metadata as JsonObject | undefined)?.name)}`;

/** kubernetes-models' validation: types, formats, enums, required fields. Throws with the problems. */
async function validateWithModel(object: K8sObject): Promise<void> {
  const module = (await import(kubernetesModelModule(object.apiVersion, object.kind))) as Record<string, new (data: unknown) => { validate(): void }>;
  const Model = module[object.kind];
  if (!Model) throw new Error(`kubernetes-models has no ${object.apiVersion} ${object.kind}`);
  new Model(object).validate();
}

let shapes: ShapeChecker;
beforeAll(() => {
  const kinds = new Map(builtIn.map(({ object }) => [`${object.apiVersion}/${object.kind}`, object]));
  shapes = new ShapeChecker([...[...kinds.values()].map((o) => kubernetesShape(o.apiVersion, o.kind)), kubernetesShape('apps/v1', 'Deployment'), OBJECT_META]);
}, 60_000);

describe('deploy/k8s files', () => {
  it('are each a manifest, a kustomization, a JSON patch or the kind cluster configuration', () => {
    for (const file of k8sYamlFiles()) expect(() => roleOf(file), rel(file)).not.toThrow();
  });

  it('leave no manifest out of its directory kustomization, and no directory out of the base', () => {
    const base = yamlFile(join(K8S_DIR, 'base/kustomization.yaml')) as { resources: string[] };
    const inBase = new Set(base.resources.map((r) => resolve(K8S_DIR, 'base', r)));
    const manifestDirs = new Set(k8sYamlFiles().filter((f) => roleOf(f) === 'manifests' && !f.includes('/overlays/')).map((f) => dirname(f)));
    for (const dir of manifestDirs) {
      expect(inBase.has(dir), `${rel(dir)} is not in base/kustomization.yaml`).toBe(true);
      const listed = (yamlFile(join(dir, 'kustomization.yaml')) as { resources: string[] }).resources;
      const manifests = k8sYamlFiles().filter((f) => dirname(f) === dir && roleOf(f) === 'manifests').map((f) => basename(f));
      expect([...listed].sort(), rel(dir)).toEqual(manifests.sort());
    }
  });

  it('render every overlay as `kubectl kustomize` does (when kubectl is installed)', () => {
    for (const overlay of OVERLAYS) {
      const dir = join(K8S_DIR, 'overlays', overlay);
      const expected = kubectlKustomize(dir);
      if (!expected) return;
      const byKey = (objects: K8sObject[]) => Object.fromEntries(objects.map((o) => [objectKey(o), o]));
      expect(byKey(renderKustomization(dir)), overlay).toEqual(byKey(expected));
    }
  });
});

describe('Kubernetes objects against the Kubernetes schemas (kubernetes-models), unknown fields rejected', () => {
  it('cover every object that is not a Strimzi resource', () => {
    expect(builtIn.length).toBeGreaterThan(20);
    expect(builtIn.length + strimzi.length).toBe(everything.length);
  });

  it.each(builtIn.map((o) => [label(o), o] as const))('%s', async (_name, { object }) => {
    await validateWithModel(object);
    expect(shapes.unknownFields(`${object.apiVersion}/${object.kind}`, object)).toEqual([]);
  });

  it('catch an unknown field and a wrong type (the validation itself works)', async () => {
    const deployment = fromFiles.find((o) => o.object.kind === 'Deployment')!.object;
    const misspelt = structuredClone(deployment) as JsonObject;
    const container = ((((misspelt.spec as JsonObject).template as JsonObject).spec as JsonObject).containers as JsonObject[])[0]!;
    container.readinesProbe = container.readinessProbe ?? null;
    expect(shapes.unknownFields('apps/v1/Deployment', misspelt)).toEqual(['/spec/template/spec/containers/0/readinesProbe']);
    container.ports = [{ containerPort: 'http' }];
    await expect(validateWithModel(misspelt as K8sObject)).rejects.toThrow(/containerPort/);
  });
});

describe('Strimzi resources against the Strimzi CRD schemas in deploy/k8s/kafka/crds', () => {
  const schemaFiles: Record<string, string> = {
    Kafka: 'kafka.v1beta2.schema.json',
    KafkaNodePool: 'kafkanodepool.v1beta2.schema.json',
    KafkaTopic: 'kafkatopic.v1beta2.schema.json',
  };

  /** Closes every object schema, as kubectl apply --validate=strict treats a structural schema. */
  const closed = (schema: Json): Json => {
    if (Array.isArray(schema)) return schema.map(closed);
    if (!isObject(schema)) return schema;
    const out: JsonObject = Object.fromEntries(Object.entries(schema).map(([k, v]) => [k, k === 'enum' ? v : closed(v)]));
    if (out.type === 'object' && out['x-kubernetes-preserve-unknown-fields'] !== true && out.additionalProperties === undefined) {
      out.additionalProperties = false;
    }
    return out;
  };

  const ajv = new Ajv({ allErrors: true, strict: true, strictTypes: false });
  ajv.addKeyword({ keyword: 'x-kubernetes-preserve-unknown-fields' });
  ajv.addKeyword({ keyword: 'x-kubernetes-int-or-string' });
  const validators = new Map<string, ValidateFunction>();
  for (const [kind, file] of Object.entries(schemaFiles)) {
    validators.set(kind, ajv.compile(closed(JSON.parse(readFileSync(join(CRD_DIR, file), 'utf8')) as Json) as object));
  }
  const validate = (object: K8sObject) => {
    const validator = validators.get(object.kind);
    if (!validator) return [`no schema for ${object.kind}`];
    return validator(object) ? [] : (validator.errors ?? []).map((e) => `${e.instancePath} ${e.message ?? ''} ${JSON.stringify(e.params)}`);
  };

  it('are Kafka, KafkaNodePool and KafkaTopic, all kafka.strimzi.io/v1beta2', () => {
    expect(new Set(strimzi.map((o) => o.object.kind))).toEqual(new Set(['Kafka', 'KafkaNodePool', 'KafkaTopic']));
    for (const { object } of strimzi) expect(object.apiVersion).toBe(STRIMZI);
    expect(existsSync(CRD_DIR)).toBe(true);
  });

  it.each(strimzi.map((o) => [label(o), o] as const))('%s', async (_name, { object }) => {
    expect(validate(object)).toEqual([]);
    // metadata is Kubernetes' ObjectMeta: checked as such.
    expect(shapes.unknownFields('ObjectMeta', object.metadata as Json)).toEqual([]);
    await validateWithModel({ apiVersion: 'v1', kind: 'ConfigMap', metadata: object.metadata as Json });
  });

  it('reject an unknown field, a wrong enum and a missing required field (the validation itself works)', () => {
    const [topic] = yamlDocuments(join(K8S_DIR, 'kafka/topics.yaml')) as K8sObject[];
    const withTypo = structuredClone(topic!) as JsonObject;
    (withTypo.spec as JsonObject).partition = 3;
    expect(validate(withTypo as K8sObject).join()).toMatch(/must NOT have additional properties {"additionalProperty":"partition"}/);
    const [kafka] = yamlDocuments(join(K8S_DIR, 'kafka/kafka.yaml')) as K8sObject[];
    const badListener = structuredClone(kafka!) as JsonObject;
    (((badListener.spec as JsonObject).kafka as JsonObject).listeners as JsonObject[])[0]!.type = 'plaintext';
    expect(validate(badListener as K8sObject).join()).toMatch(/listeners\/0\/type must be equal to one of the allowed values/);
    const [pool] = yamlDocuments(join(K8S_DIR, 'kafka/kafka-node-pool.yaml')) as K8sObject[];
    const noRoles = structuredClone(pool!) as JsonObject;
    delete (noRoles.spec as JsonObject).roles;
    expect(validate(noRoles as K8sObject).join()).toMatch(/must have required property 'roles'/);
  });
});
