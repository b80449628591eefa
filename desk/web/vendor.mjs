// Copies what the desk's pages use from npm packages into vendor/, which sighting-server
// embeds: the map library (Leaflet), its clustering plugin, and country outlines (Natural
// Earth 1:110m via world-atlas, public domain) with each country's English and Chinese name
// (i18n-iso-countries), for the map that must still say where a sighting is when no tile
// server answers. Run by `cargo xtask vendor-web`; the output is committed, so building the
// server needs neither npm nor a network.
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { feature } from "topojson-client";
import countries from "i18n-iso-countries";

const require = createRequire(import.meta.url);
const out = new URL("./vendor/", import.meta.url);
mkdirSync(out, { recursive: true });

const copies = [
  ["leaflet/dist/leaflet.js", "leaflet.js"],
  ["leaflet/dist/leaflet.css", "leaflet.css"],
  ["leaflet/LICENSE", "LICENSE.leaflet"],
  ["leaflet.markercluster/dist/leaflet.markercluster.js", "leaflet.markercluster.js"],
  ["leaflet.markercluster/dist/MarkerCluster.css", "MarkerCluster.css"],
  ["leaflet.markercluster/dist/MarkerCluster.Default.css", "MarkerCluster.Default.css"],
  ["leaflet.markercluster/MIT-LICENCE.txt", "LICENSE.leaflet.markercluster"],
  ["world-atlas/LICENSE", "LICENSE.world-atlas"],
  ["i18n-iso-countries/LICENSE", "LICENSE.i18n-iso-countries"],
];
for (const [from, to] of copies) copyFileSync(require.resolve(from), new URL(to, out));

countries.registerLocale(require("i18n-iso-countries/langs/en.json"));
countries.registerLocale(require("i18n-iso-countries/langs/zh.json"));
const atlas = JSON.parse(readFileSync(require.resolve("world-atlas/countries-110m.json")));
const round = (c) => (typeof c[0] === "number" ? c.map((v) => Math.round(v * 100) / 100) : c.map(round));
const outlines = feature(atlas, atlas.objects.countries).features.map((f) => {
  const alpha2 = f.id && countries.numericToAlpha2(f.id);
  const en = f.properties.name;
  const zh = (alpha2 && countries.getName(alpha2, "zh")) || en;
  return {
    type: "Feature",
    properties: { en, zh },
    geometry: { type: f.geometry.type, coordinates: round(f.geometry.coordinates) },
  };
});
writeFileSync(new URL("countries.json", out), JSON.stringify({ type: "FeatureCollection", features: outlines }));

const version = (name) => require(`${name}/package.json`).version;
const versions = ["leaflet", "leaflet.markercluster", "world-atlas", "topojson-client", "i18n-iso-countries"]
  .map((name) => `${name} ${version(name)}`)
  .join("\n");
writeFileSync(new URL("VERSIONS.txt", out), `${versions}\n`);
