// Bundles the extension and the process entry points with esbuild.
import * as esbuild from 'esbuild';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const watch = process.argv.includes('--watch');
const production = process.argv.includes('--production');

/** ssh2 optionally loads native helpers (cpu-features, sshcrypto.node); leave them out of bundles. */
const nativeOptional = ['cpu-features', './crypto/build/Release/sshcrypto.node'];

/** The repository root: paths below are relative to it, whatever the working directory. */
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

const common = {
  absWorkingDir: root,
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: !production,
  minify: production,
  logLevel: 'info',
  legalComments: 'none',
};

/**
 * Packages the extension needs only after activation: ssh2 when it connects, yaml when labs
 * load, markdown-it when a lab step is shown, csv-parse when an organizer imports a roster.
 * Each is bundled on its own into dist/vendor/ and
 * the extension bundle gets a stand-in that require()s it on first use (a property read, a
 * call or `new`), so activation neither compiles nor evaluates them (bench/README.md,
 * activation). Stand-ins never load the package for esbuild's own interop probe (`__esModule`).
 */
const lazyPackages = ['ssh2', 'yaml', 'markdown-it', 'csv-parse/sync'];

/** dist/vendor/<this>.js for a package (flat: `csv-parse/sync` → `csv-parse-sync`). */
const vendorFile = (pkg) => pkg.replace(/\//g, '-');

/** The stand-in's source: a callable proxy whose prototype chain forwards every read to the real module. */
function standIn(pkg) {
  return `
let real;
const load = () => real || (real = require(${JSON.stringify(`./vendor/${vendorFile(pkg)}.js`)}));
const forward = new Proxy(Object.create(null), {
  get: (_, key) => (key === '__esModule' ? undefined : load()[key]),
  has: (_, key) => key in load(),
});
function LazyModule(...args) {
  return new.target ? Reflect.construct(load(), args) : load()(...args);
}
Object.setPrototypeOf(LazyModule, forward);
module.exports = LazyModule;
`;
}

/** Resolves `packages` (some of lazyPackages) to their stand-ins. */
export const lazyPackagesPlugin = (packages) => ({
  name: 'lazy-packages',
  setup(build) {
    const filter = new RegExp(`^(${packages.map((p) => p.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&')).join('|')})$`);
    build.onResolve({ filter }, (args) => ({ path: args.path, namespace: 'lazy-package' }));
    // The stand-in's require of dist/vendor/<pkg>.js stays a require, relative to dist/extension.js.
    build.onResolve({ filter: /^\.\/vendor\//, namespace: 'lazy-package' }, (args) => ({ path: args.path, external: true }));
    build.onLoad({ filter: /.*/, namespace: 'lazy-package' }, (args) => ({ contents: standIn(args.path), loader: 'js' }));
  },
});
export const lazyPlugin = lazyPackagesPlugin(lazyPackages);

/**
 * A vendor bundle exports exactly what `require(pkg)` gives in Node (markdown-it's CommonJS
 * build, a constructor, rather than its ES module namespace), which is what the stand-in forwards to.
 */
const vendorEntryPlugin = {
  name: 'vendor-entries',
  setup(build) {
    build.onResolve({ filter: /^vendor:/ }, (args) => ({ path: args.path.slice('vendor:'.length), namespace: 'vendor-entry' }));
    build.onLoad({ filter: /.*/, namespace: 'vendor-entry' }, (args) => ({ contents: `module.exports = require(${JSON.stringify(args.path)});`, loader: 'js', resolveDir: root }));
  },
};

/**
 * What VS Code loads is minified whatever the mode: load time is compile time, and compile
 * time grows with the bytes (bench/README.md). Error classes name themselves explicitly
 * (`readonly name = 'TunnelError'`), so mangled class names change no message.
 */
const extensionCommon = { ...common, minify: true, external: ['vscode', ...nativeOptional], plugins: [] };

const builds = [
  // The extension: vscode is provided by the host.
  { ...extensionCommon, entryPoints: { extension: 'src/extension.ts' }, outdir: 'dist', plugins: [...extensionCommon.plugins, lazyPlugin] },
  // The packages it loads on first use (see lazyPackages).
  { ...extensionCommon, entryPoints: Object.fromEntries(lazyPackages.map((p) => [vendorFile(p), `vendor:${p}`])), outdir: 'dist/vendor', plugins: [...extensionCommon.plugins, vendorEntryPlugin] },
  // Process entry points: native modules stay as node_modules requires.
  {
    ...common,
    entryPoints: {
      organizer: 'src/cli/organizer.ts',
      labcluster: 'src/cli/labcluster.ts',
      stack: 'src/cli/stack.ts',
      demo: 'src/cli/demo.ts',
    },
    outdir: 'dist',
    external: ['better-sqlite3', '@cdktf/hcl2json', 'nodemailer', 'fastify', ...nativeOptional],
    // ssh2 instantiates a 16 MiB wasm memory (its poly1305) when required: every local stack
    // process paid it though only an ssh2 bastion needs it (bench/README.md, provisioning).
    plugins: [lazyPackagesPlugin(['ssh2'])],
  },
];

/**
 * Writes a build's outputs only where they changed, each atomically (write, then rename): test
 * suites running in parallel build too, and a running extension host may be reading the files.
 */
async function buildAtomically(options) {
  const result = await esbuild.build({ ...options, write: false });
  for (const file of result.outputFiles) {
    try {
      if (fs.readFileSync(file.path).equals(Buffer.from(file.contents))) continue;
    } catch {
      // not there yet
    }
    fs.mkdirSync(path.dirname(file.path), { recursive: true });
    const tmp = `${file.path}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, file.contents);
    fs.renameSync(tmp, file.path);
  }
}

// `npm run build` runs this file; a check of the stand-ins may import it for its plugins alone.
const runAsScript = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (runAsScript && watch) {
  for (const b of builds) {
    const ctx = await esbuild.context(b);
    await ctx.watch();
  }
} else if (runAsScript) {
  await Promise.all(builds.map(buildAtomically));
}
