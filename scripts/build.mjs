// Bundles the extension and the process entry points with esbuild.
import * as esbuild from 'esbuild';

const watch = process.argv.includes('--watch');
const production = process.argv.includes('--production');

/** ssh2 optionally loads native helpers (cpu-features, sshcrypto.node); leave them out of bundles. */
const nativeOptional = ['cpu-features', './crypto/build/Release/sshcrypto.node'];

const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: !production,
  minify: production,
  logLevel: 'info',
  legalComments: 'none',
};

const builds = [
  // The extension: vscode is provided by the host.
  { ...common, entryPoints: { extension: 'src/extension.ts' }, outdir: 'dist', external: ['vscode', ...nativeOptional] },
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
  },
];

if (watch) {
  for (const b of builds) {
    const ctx = await esbuild.context(b);
    await ctx.watch();
  }
} else {
  await Promise.all(builds.map((b) => esbuild.build(b)));
}
