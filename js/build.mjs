// Bundle each view (and the shared CSS) into ../llmos_jupyter/static/. `npm run build`; `npm run watch`.
import * as esbuild from "esbuild";

const options = {
  entryPoints: ["src/mode.js", "src/tokens.js", "src/valence.js", "src/causal.js", "src/consensus.js",
    "src/summary.js", "src/widgets.css"],
  outdir: "../llmos_jupyter/static",
  bundle: true,
  format: "esm",
  minify: true,
  target: ["es2020"],
  legalComments: "eof",
  logLevel: "info",
};

if (process.argv.includes("--watch")) {
  const ctx = await esbuild.context({ ...options, minify: false });
  await ctx.watch();
} else {
  await esbuild.build(options);
}
