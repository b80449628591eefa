// The list searched in Debian's Chromium (playwright-core), in Chinese and in English: a
// reviewer types a word of a note and sees only the rows whose notes hold it, narrows them by
// capture date, then downloads the CSV of what is listed; axe-core on the searched view, a
// screenshot of each. Run by `tests/tests/desk_browser/search.rs` with DESK_FACTS (JSON).
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { chromium } from "playwright-core";

const require = createRequire(import.meta.url);
const axeSource = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");
const words = JSON.parse(readFileSync(new URL("../../desk/web/pages/words.json", import.meta.url), "utf8"));
const facts = JSON.parse(readFileSync(process.env.DESK_FACTS, "utf8"));
const log = (...args) => console.log("search.mjs:", ...args);

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});

const listed = (page) => page.$$eval("#list tbody tr", (rows) => rows.map((r) => r.dataset.id));
const waitRows = (page, ids) => page.waitForFunction((want) => {
  const got = [...document.querySelectorAll("#list tbody tr")].map((r) => r.dataset.id);
  return got.length === want.length && want.every((id) => got.includes(id));
}, ids);

for (const [locale, lang] of [["zh-CN", "zh"], ["en-GB", "en"]]) {
  const w = words[lang];
  const context = await browser.newContext({ locale, timezoneId: "Europe/Amsterdam", acceptDownloads: true });
  const page = await context.newPage();
  const problems = [];
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
  page.on("console", (m) => {
    if (m.type() === "error" && !m.text().includes("status of 401")) problems.push(`console: ${m.text()}`);
  });
  await page.goto(facts.url);
  await page.waitForSelector("body[data-ready=true]");
  await page.fill("#login-name", facts.reviewer);
  await page.fill("#login-password", facts.password);
  await page.click("#login-form button[type=submit]");
  await waitRows(page, facts.all);
  assert.equal(await page.locator("label[for=search-text]").innerText(), w.search_text);
  assert.equal(await page.locator("#export-csv").innerText(), w.export_csv);

  // A word of a note, in another case than written: only the rows whose notes hold it.
  await page.fill("#search-text", facts.word);
  await page.click("#search-form button[type=submit]");
  await waitRows(page, facts.with_word);
  assert.equal(await page.locator("#count").innerText(), w.count.replace("{n}", facts.with_word.length));
  for (const note of await page.$$eval("#list tbody td.note", (cells) => cells.map((c) => c.textContent))) {
    assert.ok(note.toLowerCase().includes(facts.word.toLowerCase()), note);
  }

  // Narrowed to one day (the desk's zone): the one taken then.
  await page.fill("#search-from", facts.day);
  await page.fill("#search-to", facts.day);
  await page.click("#search-form button[type=submit]");
  await waitRows(page, [facts.on_day]);
  assert.deepEqual(await listed(page), [facts.on_day]);

  // A bad id's start: the desk's refusal, in words, and the list as it was.
  await page.evaluate(() => { document.getElementById("search-id").removeAttribute("pattern"); });
  await page.fill("#search-id", "zz");
  await page.click("#search-form button[type=submit]");
  await page.waitForFunction((m) => document.getElementById("search-message").textContent === m, w.search_refused_id);
  problems.splice(0, problems.length, ...problems.filter((p) => !p.includes("status of 400")));
  await page.fill("#search-id", "");
  await page.click("#search-form button[type=submit]");
  await page.waitForFunction(() => document.getElementById("search-message").textContent === "");

  await page.evaluate(axeSource);
  const result = await page.evaluate(() => window.axe.run(document, { resultTypes: ["violations"] }));
  const bad = result.violations.filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => `${v.id} (${v.impact}): ${v.nodes.slice(0, 3).map((n) => n.target.join(" ")).join(" | ")}`);
  assert.deepEqual(bad, [], `axe on the searched list (${lang})`);
  log(`axe on the searched list (${lang}): ${result.violations.length} minor or moderate, 0 serious or critical`);
  await page.screenshot({ path: `${facts.out}/search-${lang}.png`, fullPage: true });

  // The CSV of what is listed.
  const [download] = await Promise.all([page.waitForEvent("download"), page.click("#export-csv")]);
  assert.equal(download.suggestedFilename(), "sightings.csv");
  await download.saveAs(`${facts.out}/search-${lang}.csv`);
  assert.deepEqual(problems, [], `${lang}: nothing went wrong in the page`);
  await context.close();
  log(`${lang}: searched, narrowed, downloaded`);
}
await browser.close();
