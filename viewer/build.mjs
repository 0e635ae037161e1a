// Builds ../templates/static/viewer/ome-zarr-viewer.js (committed, so that installing
// catalogue needs no Node): `npm ci && npm run build` here after editing src/.
import { build } from "esbuild";

await build({
  entryPoints: ["src/viewer.js"],
  bundle: true,
  minify: true,
  format: "iife",
  target: "es2020",
  legalComments: "none",
  // zarrita's own Blosc/zstd codecs (numcodecs.js) need 'unsafe-eval'; src/codecs.js
  // replaces them, so they are left out of the bundle.
  external: ["numcodecs", "numcodecs/*"],
  banner: {
    js: "/* catalogue OME-Zarr viewer (Apache-2.0); bundles zarrita, @zarrita/storage and fzstd (MIT): see LICENSES.txt */",
  },
  outfile: "../templates/static/viewer/ome-zarr-viewer.js",
});
