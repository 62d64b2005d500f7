// npm start: bundles src/start.ts and its service thread with esbuild into dist/ (about
// 0.3 s, and only when a source changed), then runs the bundle in this process. Run through
// tsx instead, every module, the dependencies' included, crosses to tsx's loader thread and
// back (Node 20 has no in-thread module hooks), and loading was most of a start: restart to
// all ready 3.8 s → 1.7 s and RSS 280 → 176 MiB (npm run bench -- --history 100, 2 cores).
// The dependencies are bundled too, but for those in EXTERNAL: a process then reads and
// compiles one file instead of resolving, reading and compiling some 1,500 modules, which
// was a third of each service's start (see EXTERNAL). npm run start:cluster runs each
// service from a bundle of its own the same way (bundleServices). Tests and the other
// commands run the TypeScript as it is.
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '../..');
// Beside src/, at the same depth: the bundle's import.meta.url-relative paths (the catalog,
// the web UI's folder) resolve as they do from the sources.
const outdir = join(here, 'dist');

/**
 * Dependencies left in node_modules and loaded as they ship: those that find files beside
 * their own code at run time, native addons, optional peers that may not be installed, and
 * what is imported only on demand. Every other dependency is bundled. Importing the
 * services' dependencies took 930 ms of CPU from node_modules and 370 ms from one bundle
 * (430 ms with its source map, as the services run), on this 2-core machine.
 */
const EXTERNAL = [
  'better-sqlite3', // a native addon, found through its package folder
  'pino', // pretty logs (a transport) run in a worker thread started from pino's own files
  'pino-pretty',
  'thread-stream',
  '@fastify/swagger-ui', // serves its static files from its package folder
  'bufferutil', // optional peers of ws and pg, usually not installed
  'utf-8-validate',
  'pg-native',
  '@opentelemetry', // every package of the scope: the SDK is imported only when an OTLP endpoint is set, and registers with this same API
];
/** A package of EXTERNAL, a file of one, or (for a scope) any package in it. */
const isExternal = (path) => EXTERNAL.some((name) => path === name || path.startsWith(`${name}/`));

/** npm start's bundle: the main thread's entry and the worker thread's, sharing their modules' chunk. */
export async function bundleStart() {
  await bundle('start', { start: 'apps/orderflow/src/start.ts', 'service-thread': 'apps/orderflow/src/service-thread.ts' }, true);
  return join(outdir, 'start.mjs');
}

/**
 * One self-contained bundle per service (dist/service-<name>.mjs), for a process of its own:
 * no chunks, so its main module is the file Node runs and isEntryPoint() holds.
 * Returns each one's path.
 */
export async function bundleServices(names) {
  await bundle('services', Object.fromEntries(names.map((name) => [`service-${name}`, `services/${name}/main.ts`])), false);
  return Object.fromEntries(names.map((name) => [name, join(outdir, `service-${name}.mjs`)]));
}

const stampOf = (path) => {
  const stat = statSync(join(root, path));
  return `${stat.size}:${stat.mtimeMs}`;
};

/** Writes a file aside, then renames it over the old one: a reader sees one or the other, whole. */
const replaceWhole = (path, contents) => {
  const aside = `${path}.${process.pid}.tmp`;
  writeFileSync(aside, contents);
  renameSync(aside, path);
};

/** What a build read (each source's size and modification time) and wrote. */
const manifestOf = (name) => join(outdir, `inputs-${name}.json`);

/** Whether dist/ holds this build of the sources as they are: then it is not built again. */
function builtFromCurrentSources(name, entryPoints) {
  try {
    const manifest = JSON.parse(readFileSync(manifestOf(name), 'utf8'));
    return (
      Object.keys(entryPoints).every((entry) => manifest.outputs.includes(`${entry}.mjs`)) &&
      manifest.outputs.every((file) => existsSync(join(outdir, file))) &&
      Object.entries(manifest.inputs).every(([path, stamp]) => stampOf(path) === stamp)
    );
  } catch {
    return false; // no build yet, or a source gone
  }
}

async function bundle(name, entryPoints, splitting) {
  if (builtFromCurrentSources(name, entryPoints)) return;
  const { build } = await import('esbuild');
  const startedAt = Date.now();
  const result = await build({
    absWorkingDir: root,
    entryPoints,
    metafile: true,
    bundle: true,
    splitting,
    format: 'esm',
    platform: 'node',
    target: 'node20.19',
    outdir,
    outExtension: { '.js': '.mjs' },
    sourcemap: 'linked',
    // The dependencies' mappings stay (stack traces name their files and lines); their sources
    // are in node_modules, not copied into the map, which Node reads at every start.
    sourcesContent: false,
    // Bundled CommonJS dependencies require Node's built-in modules, and ESM has no require.
    banner: { js: "import { createRequire as createRequireOfBundle } from 'node:module'; const require = createRequireOfBundle(import.meta.url);" },
    write: false,
    logLevel: 'warning',
    plugins: [
      {
        name: 'external-dependencies',
        setup(builder) {
          builder.onResolve({ filter: /^[^./]/ }, (args) => (isExternal(args.path) ? { path: args.path, external: true } : undefined));
        },
      },
    ],
  });
  mkdirSync(outdir, { recursive: true });
  // Two starts at once (npm start beside a benchmark) build the same files: each is
  // replaced whole (written aside, then renamed), and only when it changed.
  for (const file of result.outputFiles) {
    if (!existsSync(file.path) || !readFileSync(file.path).equals(file.contents)) replaceWhole(file.path, file.contents);
  }
  const outputs = result.outputFiles.map((file) => basename(file.path));
  // The launcher's own build options count as a source.
  const inputs = [...Object.keys(result.metafile.inputs), 'apps/orderflow/start-bundled.mjs'];
  // A source saved while esbuild read it may be in the bundle as it was: no manifest then, so the next start builds again.
  const manifestFile = manifestOf(name);
  if (inputs.every((path) => statSync(join(root, path)).mtimeMs < startedAt)) {
    replaceWhole(manifestFile, JSON.stringify({ inputs: Object.fromEntries(inputs.map((path) => [path, stampOf(path)])), outputs }));
  } else {
    rmSync(manifestFile, { force: true });
  }
  // Chunks of earlier builds (their names carry a hash), once no start can still be loading them.
  if (splitting) {
    for (const file of readdirSync(outdir)) {
      const path = join(outdir, file);
      if (/-[A-Z0-9]{8}\.mjs(\.map)?$/.test(file) && !outputs.includes(file) && Date.now() - statSync(path).mtimeMs > 3_600_000) unlinkSync(path);
    }
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const entry = await bundleStart();
  // Stack traces name the TypeScript sources' lines.
  process.setSourceMapsEnabled(true);
  await import(entry);
}
