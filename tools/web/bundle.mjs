// Bundles each page's script in pages/ (the page's own code and every library it imports)
// into one minified script and one stylesheet, named by their content's hash so the server
// can let browsers cache them for good, and writes the manifest the server renders the
// page's <script> and <link> from. A page added to pages/ is built and served the same way.
import { readdirSync, rmSync, writeFileSync } from "node:fs";
import { basename, relative } from "node:path";
import { build } from "esbuild";

const STATIC = "../../contactgraph/web/static";
const MANIFEST = "../../contactgraph/web/assets.json";

const pages = readdirSync("pages").filter((name) => name.endsWith(".js"));
rmSync(STATIC, { recursive: true, force: true });
const { metafile } = await build({
  entryPoints: pages.map((name) => `pages/${name}`),
  bundle: true,
  minify: true,
  format: "iife",
  target: "es2020",
  define: { "process.env.NODE_ENV": '"production"' },
  legalComments: "linked",
  entryNames: "[name]/[name]-[hash]",
  outdir: STATIC,
  metafile: true,
  logLevel: "warning",
});

const manifest = {};
for (const [output, meta] of Object.entries(metafile.outputs)) {
  if (!meta.entryPoint) continue;
  manifest[basename(meta.entryPoint, ".js")] = {
    script: relative(STATIC, output),
    style: meta.cssBundle ? relative(STATIC, meta.cssBundle) : null,
  };
}
writeFileSync(MANIFEST, `${JSON.stringify(manifest, null, 2)}\n`);
