// Bundles each page's script in pages/ (the page's own code and every library it imports)
// into one minified script and one stylesheet, named by their content's hash so the server
// can let browsers keep them for good, writes beside them the licenses of the npm packages
// bundled, and writes the manifest the server renders the page's <script> and <link> from.
// A page added to pages/ is built and served the same way.
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { basename, dirname, join, relative } from "node:path";
import { build } from "esbuild";

const STATIC = "../../contactgraph/web/static";
const MANIFEST = "../../contactgraph/web/assets.json";
const PACKAGE = /^(.*node_modules\/(?:@[^/]+\/)?[^/]+)\//;

/** The notices of every npm package `inputs` come from: name, version, license text. */
function licenses(inputs) {
  const packages = new Set(inputs.map((input) => input.match(PACKAGE)?.[1]).filter(Boolean));
  return [...packages]
    .sort()
    .map((dir) => {
      const about = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
      const file = readdirSync(dir).find((name) => /^licen[cs]e/i.test(name));
      const text = file ? readFileSync(join(dir, file), "utf8").trim() : `License: ${about.license}`;
      return `${about.name} ${about.version} (${about.license})\n\n${text}\n`;
    })
    .join(`\n${"-".repeat(78)}\n\n`);
}

const pages = readdirSync("pages").filter((name) => name.endsWith(".js"));
rmSync(STATIC, { recursive: true, force: true });
const { metafile } = await build({
  entryPoints: pages.map((name) => `pages/${name}`),
  bundle: true,
  minify: true,
  format: "iife",
  target: "es2020",
  define: { "process.env.NODE_ENV": '"production"' },
  legalComments: "none",
  entryNames: "[name]/[name]-[hash]",
  outdir: STATIC,
  metafile: true,
  logLevel: "warning",
});

const manifest = {};
for (const [output, meta] of Object.entries(metafile.outputs)) {
  if (!meta.entryPoint) continue;
  const page = basename(meta.entryPoint, ".js");
  const inputs = [meta, meta.cssBundle && metafile.outputs[meta.cssBundle]]
    .filter(Boolean)
    .flatMap((bundled) => Object.keys(bundled.inputs));
  const notices = licenses(inputs);
  const hash = createHash("sha256").update(notices).digest("hex").slice(0, 8).toUpperCase();
  const noticesFile = join(dirname(output), `${page}-${hash}.licenses.txt`);
  writeFileSync(noticesFile, notices);
  manifest[page] = {
    script: relative(STATIC, output),
    style: meta.cssBundle ? relative(STATIC, meta.cssBundle) : null,
    licenses: relative(STATIC, noticesFile),
  };
}
writeFileSync(MANIFEST, `${JSON.stringify(manifest, null, 2)}\n`);
