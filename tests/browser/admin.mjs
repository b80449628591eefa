// An admin manages the desk's people and reads the audit log, in Debian's Chromium driven by
// playwright-core, in Chinese then English, with axe-core over each view. Run by
// `tests/tests/desk_admin_browser.rs`, which passes what it set up in DESK_FACTS.
//
// Exits non-zero at the first thing that is not as an admin would expect.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { chromium } from "playwright-core";

const require = createRequire(import.meta.url);
const axeSource = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");
const words = JSON.parse(readFileSync(new URL("../../desk/web/pages/words.json", import.meta.url), "utf8"));
const facts = JSON.parse(readFileSync(process.env.DESK_FACTS, "utf8"));
const shots = process.env.DESK_SCREENSHOTS;
const log = (...args) => console.log("admin.mjs:", ...args);
const fill = (word, vars) => word.replace(/\{(\w+)\}/g, (_, name) => String(vars[name]));

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});

async function person(locale) {
  const context = await browser.newContext({ locale, timezoneId: "Asia/Shanghai" });
  const page = await context.newPage();
  const problems = [];
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
  page.on("console", (m) => {
    // Expected: asking who is logged in before anyone is, wrong passphrases, the throttle, the
    // disabled reviewer's next request, and the name taken already.
    const expected = ["status of 401 (Unauthorized)", "status of 429 (Too Many Requests)", "status of 400 (Bad Request)"];
    if (m.type() === "error" && !expected.some((e) => m.text().includes(e))) problems.push(`console: ${m.text()}`);
  });
  await page.goto(facts.url);
  await page.waitForSelector("body[data-ready=true]");
  return { page, problems };
}

async function login(page, name, password) {
  await page.fill("#login-name", name);
  await page.fill("#login-password", password);
  await page.click("#login-form button[type=submit]");
}

async function axeCheck(page, view) {
  await page.evaluate(axeSource);
  const result = await page.evaluate(() => window.axe.run(document, { resultTypes: ["violations"] }));
  const bad = result.violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => `${v.id} (${v.impact}): ${v.nodes.slice(0, 3).map((n) => n.target.join(" ")).join(" | ")}`);
  assert.deepEqual(bad, [], `axe on ${view}`);
  log(`axe on ${view}: ${result.violations.length} minor or moderate, 0 serious or critical`);
}

const shot = async (page, name) => { if (shots) await page.screenshot({ path: `${shots}/${name}.png`, fullPage: true }); };
const textOf = (page, selector) => page.locator(selector).innerText();
const waitText = (page, selector, text) => page.waitForFunction(([s, t]) => document.querySelector(s)?.textContent === t, [selector, text]);
const row = (page, name) => `#people tr[data-name="${name}"]`;
// No line of the log may read as a code: an identifier with an underscore, or a words key.
const CODE = /\b[a-z]+_[a-z_]+\b/;

// 1. A reviewer is locked out by five wrong passphrases.
const ana = await person("zh-CN");
for (let i = 0; i < 5; i++) {
  await login(ana.page, "ana", "not her passphrase");
  await waitText(ana.page, "#login-error", words.zh.login_failed);
  await ana.page.evaluate(() => { document.getElementById("login-error").textContent = ""; });
}
await login(ana.page, "ana", facts.password);
await waitText(ana.page, "#login-error", words.zh.login_throttled);

// 2. The admin, in Chinese: the Accounts tab lists everyone with their role in words.
const admin = await person("zh-CN");
let page = admin.page;
await login(page, facts.admin, facts.password);
await page.waitForSelector("#desk-view:not([hidden])");

// A sighting assigned to someone else, then to no one.
await page.click(`#list tr[data-id="${facts.sighting}"] button.open`);
await page.waitForFunction((i) => document.getElementById("detail-title").textContent.includes(i), facts.sighting);
await page.selectOption("#assign-to", "chen");
await page.click("#assign-me");
await waitText(page, "#detail-assignee", "chen");
await waitText(page, "#triage-message", words.zh.saved);
await page.selectOption("#assign-to", "");
await page.click("#assign-me");
await waitText(page, "#detail-assignee", words.zh.nobody);
await shot(page, "admin-assign-zh");

await page.click("#tab-account");
assert.equal(await textOf(page, "#triage-message"), "", "no stale message after a tab change");
await page.waitForSelector(row(page, "ana"));
assert.equal(await page.locator("#people-section").isVisible(), true);
assert.equal(await textOf(page, `${row(page, "chen")} td:nth-child(2)`), words.zh.role_case_manager);
assert.equal(await textOf(page, `${row(page, "ana")} td:nth-child(3)`), words.zh.person_active);

// Unlock: Ana logs in at once.
await page.click(`${row(page, "ana")} button:has-text("${words.zh.person_unlock}")`);
await waitText(page, "#people-message", words.zh.saved);
await login(ana.page, "ana", facts.password);
await ana.page.waitForSelector("#desk-view:not([hidden])");

// Add a person; a name taken is refused in words.
await page.fill("#person-name", "dana");
await page.fill("#person-password", "dana's long passphrase");
await page.selectOption("#person-role", "case_manager");
await page.click("#person-form button[type=submit]");
await page.waitForSelector(row(page, "dana"));
assert.equal(await textOf(page, `${row(page, "dana")} td:nth-child(2)`), words.zh.role_case_manager);
await page.fill("#person-name", "dana");
await page.fill("#person-password", "another long passphrase");
await page.click("#person-form button[type=submit]");
await waitText(page, "#people-message", words.zh.person_exists);

// Disable Ana: her open page is logged out at its next request.
await page.click(`${row(page, "ana")} button:has-text("${words.zh.person_disable}")`);
await page.waitForFunction((w) => document.querySelector('#people tr[data-name="ana"] td:nth-child(3)')?.textContent === w, words.zh.person_disabled);
await ana.page.click("#tab-audit");
await waitText(ana.page, "#login-error", words.zh.session_ended);
assert.equal(await ana.page.locator("#login-view").isVisible(), true);
await login(ana.page, "ana", facts.password);
await waitText(ana.page, "#login-error", words.zh.login_failed);

// An API token: shown once, listed by its label, revocable.
await page.fill("#token-label", "每晚的案件脚本");
await page.click("#token-form button[type=submit]");
await page.waitForSelector("#token-once:not([hidden])");
const token = await page.inputValue("#token-value");
assert.match(token, /^sgt_[A-Za-z0-9_-]{43}$/);
await page.waitForFunction(() => document.querySelectorAll("#tokens tbody tr").length === 1);
await axeCheck(page, "the Accounts tab (zh)");
await shot(page, "admin-accounts-zh");
await page.click(`#tokens button:has-text("${words.zh.token_revoke}")`);
await waitText(page, "#tokens tbody tr td:nth-child(3)", words.zh.token_revoked_state);
assert.equal(await textOf(page, "#token-message"), words.zh.saved);

// 3. The audit log: newest first, a page at a time, every line in words.
await page.click("#tab-audit");
assert.equal(await textOf(page, "#token-message"), "", "no stale message after a tab change");
await page.waitForFunction(() => document.querySelectorAll("#audit tbody tr").length === 50);
const seqs = await page.$$eval("#audit tbody tr", (rows) => rows.map((r) => Number(r.dataset.seq)));
assert.deepEqual(seqs, [...seqs].sort((a, b) => b - a), "newest first");
const first = await page.$$eval("#audit tbody tr td:nth-child(4)", (cells) => cells.map((c) => c.textContent));
assert.equal(first[0], fill(words.zh.audit_token_revoked, { name: "每晚的案件脚本" }));
assert.ok(first.includes(fill(words.zh.audit_reviewer_disabled, { name: "ana" })), first.join("\n"));
assert.ok(first.includes(fill(words.zh.audit_reviewer_added, { name: "dana", role: words.zh.role_case_manager })));
const total = facts.audit_lines + 7;
assert.equal(await textOf(page, "#audit-page"), fill(words.zh.audit_page, { page: 1, pages: Math.ceil(total / 50), n: total }));
await page.click("#audit-next");
await page.waitForFunction((s) => Number(document.querySelector("#audit tbody tr")?.dataset.seq) < s, seqs[49]);
const all = await page.$$eval("#audit tbody tr", (rows) => rows.map((r) => r.innerText));
for (const line of all) assert.doesNotMatch(line, CODE, `a code in the log: ${line}`);
// The candidate decision names its case.
assert.ok(all.some((l) => l.includes(fill(words.zh.audit_candidate_decision, { case: "C-7" }))), all.join("\n"));
// No one named: the desk opened the report, its operator added the first people.
const who = await page.$$eval("#audit tbody tr td:nth-child(2)", (cells) => cells.map((c) => c.textContent));
assert.equal(who.at(-1), words.zh.desk_itself);
assert.equal(who.at(-2), words.zh.audit_command_line);
await shot(page, "admin-audit-page2-zh");

// Filtered: by person, then by action, then by sighting.
await page.selectOption("#audit-person", "ana");
await page.selectOption("#audit-action", "logins_unlocked");
await page.click("#audit-filter button[type=submit]");
await page.waitForFunction(() => document.querySelectorAll("#audit tbody tr").length === 1);
assert.equal(await textOf(page, "#audit tbody td:nth-child(4)"), fill(words.zh.audit_logins_unlocked, { name: "ana" }));
assert.equal(await textOf(page, "#audit tbody td:nth-child(2)"), facts.admin);
await page.selectOption("#audit-person", "");
await page.selectOption("#audit-action", "");
await page.fill("#audit-sighting-filter", facts.sighting.slice(0, 8));
await page.click("#audit-filter button[type=submit]");
await page.waitForFunction(() => document.querySelectorAll("#audit tbody tr").length === 4);
const about = await page.$$eval("#audit tbody td:nth-child(3)", (cells) => cells.map((c) => c.textContent));
assert.ok(about.every((c) => c.includes(facts.sighting.slice(0, 8))), about.join("\n"));
await axeCheck(page, "the audit log, filtered (zh)");
await shot(page, "admin-audit-filtered-zh");

// 4. In English: the same views in English words.
await page.selectOption("#lang", "en");
await page.fill("#audit-sighting-filter", "");
await page.fill("#audit-case", "C-7");
await page.click("#audit-filter button[type=submit]");
await page.waitForFunction((w) => document.querySelector("#audit tbody td:nth-child(4)")?.textContent === w,
  fill(words.en.audit_candidate_decision, { case: "C-7" }));
for (const line of await page.$$eval("#audit tbody tr", (rows) => rows.map((r) => r.innerText))) {
  assert.doesNotMatch(line, CODE, `a code in the log: ${line}`);
}
assert.equal(await textOf(page, "#audit caption"), words.en.audit_caption);
assert.equal(await textOf(page, '#audit-person option[value=""]'), words.en.all);
await axeCheck(page, "the audit log (en)");
await shot(page, "admin-audit-en");
await page.click("#tab-account");
await page.waitForSelector(row(page, "dana"));
assert.equal(await textOf(page, `${row(page, "ana")} td:nth-child(3)`), words.en.person_disabled);
await page.click(`${row(page, "ana")} button:has-text("${words.en.person_enable}")`);
await page.waitForFunction((w) => document.querySelector('#people tr[data-name="ana"] td:nth-child(3)')?.textContent === w, words.en.person_active);
await page.selectOption("#reset-name", "ana");
await page.fill("#reset-password", "ana's brand new passphrase");
await page.click("#reset-form button[type=submit]");
await waitText(page, "#people-message", words.en.saved);
await axeCheck(page, "the Accounts tab (en)");
await shot(page, "admin-accounts-en");
await login(ana.page, "ana", "ana's brand new passphrase");
await ana.page.waitForSelector("#desk-view:not([hidden])");

// A reviewer sees no people to manage.
await ana.page.click("#tab-account");
// She has made no token: the tab says so instead of an empty table.
await ana.page.waitForSelector("#tokens-empty");
assert.equal(await ana.page.locator("#people-section").isVisible(), false);

for (const p of [admin, ana]) assert.deepEqual(p.problems, []);
await browser.close();
log("an admin added, unlocked, disabled, enabled and reset people, and paged and filtered the audit log, in zh and en");
