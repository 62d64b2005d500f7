// npm start: bundles src/start.ts and its service thread with esbuild into dist/ (about
// 0.2 s), then runs the bundle in this process. Run through tsx instead, every module, the
// dependencies' included, crosses to tsx's loader thread and back (Node 20 has no in-thread
// module hooks), and loading was most of a start: restart to all ready 3.8 s → 1.7 s and
// RSS 280 → 176 MiB (npm run bench -- --history 100, 2 cores). The dependencies stay in
// node_modules, loaded as they ship; the workspace's own packages are bundled. Tests and
// the other commands run the TypeScript as it is.
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '../..');
// Beside src/, at the same depth: the bundle's import.meta.url-relative paths (the catalog,
// the web UI's folder) resolve as they do from the sources.
const outdir = join(here, 'dist');
/** What the last build read (each source's size and modification time) and wrote. */
const manifestFile = join(outdir, 'inputs.json');

const stampOf = (path) => {
  const stat = statSync(join(root, path));
  return `${stat.size}:${stat.mtimeMs}`;
};

/** Whether dist/ holds a build of the sources as they are: then a start skips esbuild (0.3 s). */
function builtFromCurrentSources() {
  try {
    const manifest = JSON.parse(readFileSync(manifestFile, 'utf8'));
    return manifest.outputs.every((file) => existsSync(join(outdir, file))) && Object.entries(manifest.inputs).every(([path, stamp]) => stampOf(path) === stamp);
  } catch {
    return false; // no build yet, or a source gone
  }
}

/** Bundles npm start's two entries into dist/ unless it holds them already; returns the path of the main one. */
export async function bundleStart() {
  const entry = join(outdir, 'start.mjs');
  if (builtFromCurrentSources()) return entry;
  const { build } = await import('esbuild');
  const startedAt = Date.now();
  const result = await build({
    absWorkingDir: root,
    metafile: true,
    entryPoints: { start: join(here, 'src/start.ts'), 'service-thread': join(here, 'src/service-thread.ts') },
    bundle: true,
    // The thread and the main thread share their modules' chunk; start.ts's dynamic import stays one.
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20.19',
    outdir,
    outExtension: { '.js': '.mjs' },
    sourcemap: 'linked',
    write: false,
    logLevel: 'warning',
    plugins: [
      {
        name: 'dependencies-stay-external',
        setup(builder) {
          builder.onResolve({ filter: /^[^./]/ }, (args) => (args.path.startsWith('@orderflow/') ? undefined : { path: args.path, external: true }));
        },
      },
    ],
  });
  mkdirSync(outdir, { recursive: true });
  // Two starts at once (npm start beside a benchmark) build the same files: each is
  // replaced whole (written aside, then renamed), and only when it changed.
  for (const file of result.outputFiles) {
    if (existsSync(file.path) && readFileSync(file.path).equals(file.contents)) continue;
    const aside = `${file.path}.${process.pid}.tmp`;
    writeFileSync(aside, file.contents);
    renameSync(aside, file.path);
  }
  const current = new Set(result.outputFiles.map((file) => basename(file.path)));
  // The launcher's own build options count as a source.
  const inputs = [...Object.keys(result.metafile.inputs), 'apps/orderflow/start-bundled.mjs'];
  // A source saved while esbuild read it may be in the bundle as it was: no manifest then, so the next start builds again.
  if (inputs.every((path) => statSync(join(root, path)).mtimeMs < startedAt)) {
    const manifest = { inputs: Object.fromEntries(inputs.map((path) => [path, stampOf(path)])), outputs: [...current] };
    writeFileSync(`${manifestFile}.${process.pid}.tmp`, JSON.stringify(manifest));
    renameSync(`${manifestFile}.${process.pid}.tmp`, manifestFile);
  } else {
    rmSync(manifestFile, { force: true });
  }
  // Chunks of earlier builds, once no start can still be loading them.
  current.add(basename(manifestFile));
  for (const name of readdirSync(outdir)) {
    const path = join(outdir, name);
    if (!current.has(name) && Date.now() - statSync(path).mtimeMs > 3_600_000) unlinkSync(path);
  }
  return entry;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const entry = await bundleStart();
  // Stack traces name the TypeScript sources' lines.
  process.setSourceMapsEnabled(true);
  await import(entry);
}
