// The desk as a new organisation first meets it: started exactly as `sighting-demo --keep DIR`
// prints (no tile server), a reviewer logs in, in Chinese then in English, and sees the demo's
// sightings in the list and on the map. Run by `server/tests/desk_as_printed.rs`, which passes
// what the demo made in DESK_FACTS (a JSON file).
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { chromium } from "playwright-core";

const require = createRequire(import.meta.url);
const axeSource = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");
const words = JSON.parse(readFileSync(new URL("../../desk/web/pages/words.json", import.meta.url), "utf8"));
const facts = JSON.parse(readFileSync(process.env.DESK_FACTS, "utf8"));

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});

for (const [lang, locale] of [["zh", "zh-CN"], ["en", "en-GB"]]) {
  const w = words[lang];
  const context = await browser.newContext({ locale, timezoneId: "Europe/Amsterdam" });
  const page = await context.newPage();
  const problems = [];
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
  page.on("console", (m) => {
    // Asking who is logged in before anyone is: a 401. Nothing else.
    if (m.type() === "error" && !m.text().includes("status of 401")) problems.push(`console: ${m.text()}`);
  });
  await page.goto(facts.url);
  await page.waitForSelector("body[data-ready=true]");
  await page.fill("#login-name", facts.name);
  await page.fill("#login-password", facts.password);
  await page.click("#login-form button[type=submit]");
  await page.waitForSelector("#desk-view:not([hidden])");

  // Every sighting of the demo in the list, and the count says so.
  await page.waitForFunction((n) => document.querySelectorAll("#list tbody tr").length === n, facts.ids.length,
    { timeout: 10000 }).catch(() => assert.fail(`the list never showed ${facts.ids.length} rows: ${problems.join("; ")}`));
  const listed = await page.locator("#list tbody tr").evaluateAll((rows) => rows.map((r) => r.dataset.id));
  assert.deepEqual([...listed].sort(), [...facts.ids].sort(), "the demo's sightings, each once");
  assert.equal(await page.locator("#count").innerText(), w.count.replace("{n}", facts.ids.length));

  // Every located one on the map (as a point, or inside a cluster), over the country outlines.
  const onMap = () => page.evaluate(() => {
    const single = document.querySelectorAll("path.sighting").length;
    const clustered = [...document.querySelectorAll(".marker-cluster span[aria-hidden]")]
      .reduce((n, s) => n + Number(s.textContent), 0);
    return single + clustered;
  });
  await page.waitForFunction(() => document.querySelectorAll(".leaflet-outlines-pane path").length > 100);
  for (let i = 0; i < 50 && (await onMap()) !== facts.located; i++) await page.waitForTimeout(100);
  assert.equal(await onMap(), facts.located, "every located sighting is on the map");
  // Outlines only, said; zoomed in as far as a city, also that there is no street map there.
  const status = await page.locator("#map-status").innerText();
  assert.ok(status === w.map_outlines_only || status === `${w.map_outlines_only} ${w.map_no_street_map}`, status);

  await page.evaluate(axeSource);
  const result = await page.evaluate(() => window.axe.run(document, { resultTypes: ["violations"] }));
  const bad = result.violations.filter((v) => v.impact === "serious" || v.impact === "critical").map((v) => v.id);
  assert.deepEqual(bad, [], `axe on the list and map (${lang})`);
  if (process.env.DESK_SCREENSHOTS) {
    await page.screenshot({ path: `${process.env.DESK_SCREENSHOTS}/as-printed-${lang}.png`, fullPage: true });
  }
  assert.deepEqual(problems, [], "no script errors");
  await context.close();
}
await browser.close();
console.log(JSON.stringify({ listed: facts.ids.length, on_map: facts.located }));
