// What a newcomer walking the desk hit, in Debian's Chromium (playwright-core), in Chinese and
// in English. Run by `tests/tests/desk_browser/newcomer.rs` with DESK_FACTS (JSON): a desk
// started without --contact, four sightings by a ferry that are candidates for case C-1.
// DESK_SCREENSHOTS=dir keeps a picture of each view, to look at by eye.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { chromium } from "playwright-core";

const require = createRequire(import.meta.url);
const axeSource = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");
const words = JSON.parse(readFileSync(new URL("../../desk/web/pages/words.json", import.meta.url), "utf8"));
const facts = JSON.parse(readFileSync(process.env.DESK_FACTS, "utf8"));
const log = (...args) => console.log("newcomer.mjs:", ...args);

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});

// A word as the page says it: `{name}` filled, the singular where English has one.
const say = (w, key, vars = {}) => ((vars.n === 1 && w[`${key}_one`]) || w[key])
  .replace(/\{(\w+)\}/g, (_, name) => String(vars[name]));
const text = (page, selector) => page.locator(selector).innerText();
const rows = (page, n) => page.waitForFunction((m) => document.querySelectorAll("#list tbody tr").length === m, n);
const shot = async (page, name) => {
  if (process.env.DESK_SCREENSHOTS) await page.screenshot({ path: `${process.env.DESK_SCREENSHOTS}/${name}.png`, fullPage: true });
};
// The lines a piece of text takes on the screen (`within`: the part of it to measure).
const lines = (page, selector, within) => page.locator(selector).evaluate((node, part) => {
  const walker = document.createTreeWalker(node, NodeFilter.SHOW_TEXT);
  for (let t = walker.nextNode(); t; t = walker.nextNode()) {
    const at = part ? t.data.indexOf(part) : 0;
    if (at < 0) continue;
    const range = document.createRange();
    range.setStart(t, at);
    range.setEnd(t, part ? at + part.length : t.data.length);
    return new Set([...range.getClientRects()].map((r) => Math.round(r.top))).size;
  }
  return 0;
}, within);

async function axeCheck(page, view) {
  await page.evaluate(axeSource);
  const result = await page.evaluate(() => window.axe.run(document, { resultTypes: ["violations"] }));
  const bad = result.violations.filter((v) => v.impact === "serious" || v.impact === "critical").map((v) => v.id);
  assert.deepEqual(bad, [], `axe on ${view}`);
}

for (const [locale, lang, other] of [["zh-CN", "zh", "en"], ["en-GB", "en", "zh"]]) {
  const w = words[lang];
  const context = await browser.newContext({ locale, timezoneId: "Europe/Amsterdam", viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  const problems = [];
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
  page.on("console", (m) => {
    // Expected: the 401 of asking who is logged in, the 409 of the package asked for below.
    if (m.type() === "error" && !/status of (401|409)/.test(m.text())) problems.push(`console: ${m.text()}`);
  });
  await page.goto(facts.url);
  await page.waitForSelector("body[data-ready=true]");
  await page.fill("#login-name", facts.reviewer);
  await page.fill("#login-password", facts.password);
  await page.click("#login-form button[type=submit]");
  await rows(page, facts.all.length);
  assert.equal(await text(page, "#count"), say(w, "count", { n: 4 }));

  // 1. One found: the count in the singular. None found: a line saying so and how to clear it.
  await page.fill("#search-text", facts.word);
  await page.press("#search-text", "Enter");
  await rows(page, 1);
  assert.equal(await text(page, "#count"), say(w, "count", { n: 1 }));
  if (lang === "en") assert.equal(await text(page, "#count"), "1 sighting");
  await page.fill("#search-text", "nothing-like-this");
  await page.press("#search-text", "Enter");
  await page.waitForSelector("#list-empty:not([hidden])");
  assert.equal(await text(page, "#list-empty"), say(w, "list_none_match", { clear: w.search_clear }));
  assert.equal(await page.isHidden("#list"), true, "no bare headers");
  await shot(page, `newcomer-search-none-${lang}`);
  await page.click("#search-clear");
  await rows(page, facts.all.length);
  assert.equal(await page.isHidden("#list-empty"), true);

  // 2. The desk has no organisation contact: the export button says so before any form, in
  // the reader's words; the server's refusal is a code, not an operator's command line.
  assert.equal(await page.isDisabled("#export-lead"), true);
  assert.equal(await text(page, "#export-lead-why"), w.lead_contact_missing);
  const refused = await page.evaluate(async (id) => {
    const response = await fetch("/api/leads", {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": window.SightingDesk.csrf() },
      body: JSON.stringify({ ids: [id], case: "C-1", lang: "en", recipient: "an officer" }),
    });
    return [response.status, await response.json()];
  }, facts.ferry);
  assert.equal(refused[0], 409);
  assert.equal(refused[1].error, "lead_contact_missing");
  assert.ok(!refused[1].detail.includes("`"), refused[1].detail);

  // 3. A sighting open: "Status：New" with the language's colon; a language switch re-words
  // every dynamic text, the "Assign to" options among them.
  await page.click(`#list tr[data-id="${facts.ferry}"] button.open`);
  await page.waitForSelector("#detail:not([hidden])");
  assert.equal(await text(page, "#triage-form p:first-child"), `${w.status}${w.colon}${w.triage_new}`);
  assert.equal(await text(page, '#assign-to option[value=""]'), w.nobody);
  await shot(page, `newcomer-detail-${lang}`);
  await page.selectOption("#lang", other);
  await page.waitForFunction((o) => document.documentElement.lang.startsWith(o), other);
  assert.equal(await text(page, '#assign-to option[value=""]'), words[other].nobody);
  assert.equal(await text(page, "#export-lead-why"), words[other].lead_contact_missing);
  assert.equal(await text(page, "#count"), say(words[other], "count", { n: 4 }));
  await page.selectOption("#lang", lang);
  assert.equal(await text(page, '#assign-to option[value=""]'), w.nobody);

  // 4. The case page fits the window at 1280 and 1024 px; a decision's button reads in two
  // lines at most, a file name in a note stays whole.
  await page.click("#tab-cases");
  await page.click(`#cases tr[data-case="${facts.case}"] button`);
  await page.waitForFunction((n) => document.querySelectorAll("#candidates tbody tr").length === n, facts.all.length);
  await page.waitForFunction(() => [...document.querySelectorAll("#candidates img")].every((img) => img.complete && img.naturalWidth > 0));
  const canon = `#candidates tr[data-sighting="${facts.canon}"]`;
  for (const width of [1280, 1024]) {
    await page.setViewportSize({ width, height: 800 });
    const [scroll, inner] = await page.evaluate(() => [document.scrollingElement.scrollWidth, window.innerWidth]);
    assert.ok(scroll <= inner, `${lang} at ${width} px: the page is ${scroll} px wide in a ${inner} px window`);
    assert.ok(await lines(page, `${canon} button[data-decision=possible_match]`) <= 2, `${lang} at ${width} px: the decision in two lines`);
    assert.equal(await lines(page, `${canon} .reporter-note bdi`, "Canon_40D.jpg"), 1, `${lang} at ${width} px: the file name whole`);
    await shot(page, `newcomer-case-${lang}-${width}`);
  }
  await axeCheck(page, `a case's candidates (${lang})`);
  assert.equal(await text(page, "#candidates-count"), say(w, "candidates_count", { n: 4 }));

  // 5. A page message clears at the next thing the reviewer does (a row each language).
  const decided = `#candidates tr[data-sighting="${facts.all[lang === "zh" ? 2 : 3]}"]`;
  await page.locator(`${decided} button[data-decision=not_this_child]`).click();
  await page.waitForFunction((s) => document.getElementById("flash").textContent === s, w.saved);
  await page.click("#candidates-resort");
  assert.equal(await text(page, "#flash"), "", "the message answered the decision, not the sort");

  // 6. No tokens yet: said, with how to make one, not bare headers.
  await page.click("#tab-account");
  await page.waitForSelector("#tokens-empty:not([hidden])");
  assert.equal(await text(page, "#tokens-empty"), w.tokens_none);
  assert.equal(await page.isHidden("#tokens"), true);
  await shot(page, `newcomer-account-${lang}`);

  assert.deepEqual(problems, [], "no script errors");
  await context.close();
  log(`${lang}: fits 1280 and 1024 px, words follow, messages clear`);
}
await browser.close();
