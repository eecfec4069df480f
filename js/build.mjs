// Bundle each view (and the shared CSS) into ../llmos_jupyter/static/. `npm run build`; `npm run watch`.
import * as esbuild from "esbuild";
import { createHash } from "node:crypto";
import { readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

// The bundles' sources, hashed: a test recomputes this from js/ and fails when a bundle was not rebuilt.
function sourcesDigest() {
  const files = [];
  const walk = (dir) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else files.push(path);
    }
  };
  walk("src");
  files.push("package-lock.json", "build.mjs", "../llmos_jupyter/palette.json");
  const hash = createHash("sha256");
  for (const file of files.sort()) {
    hash.update(file + "\0");
    hash.update(readFileSync(file));
    hash.update("\0");
  }
  return hash.digest("hex");
}

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
  writeFileSync("../llmos_jupyter/static/SOURCES.sha256", sourcesDigest() + "\n");
}
