"use strict";
// The review desk's page: log in, the sightings in a list (filtered and paged by the server)
// and on the map (map.js), one sighting's photo, times, place and history, the triage
// decision, the tabs; in Chinese or English. What the other scripts use of it is in
// window.SightingDesk: cases.js, candidates.js, map.js, search.js (searching the list, its
// downloads), lead.js (the lead package export) and admin.js (accounts, the audit log).
//
// Every string in a report was written by a stranger: it enters the page only as text
// (textContent, attribute values), never as markup. The Content-Security-Policy forbids
// inline script as a second wall.
(() => {
  const $ = (id) => document.getElementById(id);
  const PAGE = 50;
  const TRIAGE = ["new", "in_review", "possible_match", "forwarded_to_police", "linked_to_case", "not_relevant", "duplicate"];

  let words = {};
  let lang = "en";
  let me = null;
  let csrf = "";
  let config = { tiles: null };
  let offset = 0;
  let total = 0;
  let items = [];
  let current = null;
  // Another reviewer's changes that made this reviewer's save a conflict: shown beside the note.
  let meanwhile = [];
  const selected = new Set();
  // The map (map.js), once its script has run.
  const map = () => window.SightingDesk.map;

  // Words: `{name}` in a word is filled from `vars`; a count (`n`, else `days`) picks the
  // word's plural form where the language has one ("count_one": "1 sighting").
  function t(key, vars = {}) {
    const table = words[lang] || {};
    const count = vars.n ?? vars.days;
    const form = typeof count === "number" && new Intl.PluralRules(lang).select(count);
    const word = (form && table[`${key}_${form}`]) || table[key] || key;
    return word.replace(/\{(\w+)\}/g, (_, name) => String(vars[name] ?? ""));
  }

  function applyWords() {
    document.documentElement.lang = lang === "zh" ? "zh-CN" : "en";
    for (const el of document.querySelectorAll("[data-i18n]")) {
      el.textContent = t(el.dataset.i18n, el.dataset.i18nVars ? JSON.parse(el.dataset.i18nVars) : {});
    }
    for (const el of document.querySelectorAll("[data-i18n-label]")) el.setAttribute("aria-label", t(el.dataset.i18nLabel));
    $("lang").value = lang;
    fillFilter();
    if (me) $("who").textContent = t("signed_in_as", { name: me.name, role: t("role_" + me.role) });
    window.SightingAdmin.applyWords();
    map().applyWords();
  }

  function el(tag, text, attrs = {}) {
    const node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, value);
    return node;
  }

  // A stranger's text with its direction controls shown, not obeyed: an RTL override in a
  // note would otherwise display the note reversed (or hide what follows it).
  const BIDI_CONTROLS = /[\u061C\u200E\u200F\u202A-\u202E\u2066-\u2069]/g;
  function visible(text) {
    return String(text).replace(BIDI_CONTROLS, (c) => `[U+${c.codePointAt(0).toString(16).toUpperCase().padStart(4, "0")}]`);
  }

  // A message in words, kept as its key so a language switch says it again in the other
  // language; no key clears it.
  function say(node, key = "", vars = {}) {
    const target = typeof node === "string" ? $(node) : node;
    if (!key) {
      delete target.dataset.i18n;
      delete target.dataset.i18nVars;
      target.textContent = "";
      return;
    }
    target.dataset.i18n = key;
    target.dataset.i18nVars = JSON.stringify(vars);
    target.textContent = t(key, vars);
  }

  // The page's message (the key of a word), above the tabs.
  function flash(key, vars) {
    say("flash", key, vars);
  }

  async function api(method, path, body) {
    const headers = {};
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (method !== "GET") headers["X-CSRF-Token"] = csrf;
    const response = await fetch(path, {
      method, headers, credentials: "same-origin",
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (response.status === 401 && path !== "/api/login") {
      showLogin(t("session_ended"));
      throw new Error("logged out");
    }
    return response;
  }

  // Times: in this desk's time zone (named once, beside them), in the reader's language:
  // "2026年12月3日 14:35" or "3 December 2026, 14:35".
  function time(iso) {
    if (!iso) return el("span", t("unknown"));
    const shown = new Intl.DateTimeFormat(lang === "zh" ? "zh-CN" : "en-GB", {
      year: "numeric", month: "long", day: "numeric", hour: "2-digit", minute: "2-digit",
      hourCycle: "h23", timeZone: config.time_zone || undefined,
    }).format(new Date(iso));
    return el("time", shown, { datetime: iso });
  }

  function duration(seconds) {
    const s = Math.abs(seconds);
    if (s < 120) return t("seconds", { n: s });
    if (s < 120 * 60) return t("minutes", { n: Math.round(s / 60) });
    if (s < 48 * 3600) return t("hours", { n: Math.round(s / 3600) });
    return t("days", { n: Math.round(s / 86400) });
  }

  function place(report) {
    if (!report || report.lat == null) {
      const code = report && report.location_missing;
      const why = code ? t("location_missing_" + code) : t("unknown");
      return t("no_location", { why });
    }
    const country = map().countryAt(report.lat, report.lon) || t("country_unknown");
    return `${country} · ${report.lat.toFixed(5)}, ${report.lon.toFixed(5)}`;
  }

  // ---- Log in and out ----

  function showLogin(message = "") {
    me = null;
    $("desk-view").hidden = true;
    $("login-view").hidden = false;
    $("logout").hidden = true;
    $("who").textContent = "";
    $("login-error").textContent = message;
  }

  async function showDesk(session) {
    me = session.reviewer;
    csrf = session.csrf;
    $("login-view").hidden = true;
    $("desk-view").hidden = false;
    $("logout").hidden = false;
    applyWords();
    config = await (await api("GET", "/api/config")).json();
    window.SightingDesk.leadReadiness();
    map().init(() => {
      renderList();
      if (current) renderDetail(current);
    });
    await Promise.all([refresh(), window.SightingAdmin.fillPeople()]);
  }

  async function login(event) {
    event.preventDefault();
    const response = await api("POST", "/api/login", {
      name: $("login-name").value, password: $("login-password").value,
    });
    $("login-password").value = "";
    if (response.ok) return showDesk(await response.json());
    $("login-error").textContent = response.status === 429 ? t("login_throttled") : t("login_failed");
  }

  async function logout() {
    await api("POST", "/api/logout");
    showLogin();
  }

  // ---- List ----

  function fillFilter() {
    const select = $("filter-triage");
    const chosen = select.value;
    select.replaceChildren(el("option", t("all"), { value: "" }), ...TRIAGE.map((x) => el("option", t("triage_" + x), { value: x })));
    select.value = chosen;
  }

  // The list and the map under the search (search.js); `first`: from its first page.
  async function refresh(first = false) {
    if (first) offset = 0;
    const search = window.SightingDesk.search;
    const query = search.query();
    const paged = new URLSearchParams(query);
    paged.set("offset", offset);
    paged.set("limit", PAGE);
    const response = await api("GET", `/api/sightings?${paged}`);
    if (!response.ok) return search.refused(await response.json().catch(() => null));
    const page = await response.json();
    search.shown(query);
    items = page.items;
    total = page.total;
    renderList();
    // The map shows every match, and keeps still while the list follows it.
    const onMap = $("search-area").checked;
    await map().draw(search.query({ area: false }), !current && !onMap);
  }

  function renderList() {
    const rows = items.map(({ triage, report }) => {
      const row = el("tr", null, { "data-id": triage.id });
      const box = el("input", null, { type: "checkbox", "aria-label": t("select_row", { id: triage.id.slice(0, 8) }) });
      box.checked = selected.has(triage.id);
      box.addEventListener("change", () => (box.checked ? selected.add(triage.id) : selected.delete(triage.id)));
      const photo = el("td");
      if (triage.verified) {
        photo.append(el("img", null, {
          src: `/api/sightings/${encodeURIComponent(triage.id)}/thumb`, loading: "lazy",
          alt: t("photo_of", { id: triage.id.slice(0, 8) }), width: "96", height: "72",
        }));
      }
      const status = el("td", t("triage_" + triage.triage));
      if (!triage.verified) status.append(el("br"), el("strong", t("failed"), { class: "failed" }));
      const open = el("button", null, { type: "button", class: "open" });
      open.append(time(report && (report.corrected_captured_at || report.captured_at)));
      open.addEventListener("click", () => openDetail(triage.id));
      const captured = el("td");
      captured.append(open);
      const note = el("td", null, { class: "note" });
      note.append(el("div", report && report.note ? visible(report.note) : "", { class: "stranger clamp", dir: "auto" }));
      const pick = el("td");
      pick.append(box);
      row.append(pick, photo, status, captured, el("td", place(report)), note);
      return row;
    });
    $("list").tBodies[0].replaceChildren(...rows);
    // Nothing listed: a line that says why, not bare headers.
    $("list").hidden = total === 0;
    $("list-empty").hidden = total !== 0;
    const filters = [...window.SightingDesk.search.query().keys()];
    const why = filters.some((f) => f !== "triage") ? "list_none_match" : filters.length ? "list_none_status" : "list_none";
    say("list-empty", total === 0 ? why : "", { clear: t("search_clear") });
    const pages = Math.max(1, Math.ceil(total / PAGE));
    $("count").textContent = t("count", { n: total });
    $("page").textContent = t("page_of", { page: Math.floor(offset / PAGE) + 1, pages });
    $("prev").disabled = offset === 0;
    $("next").disabled = offset + PAGE >= total;
  }

  // ---- One sighting ----

  // `typed`: what the reviewer chose and wrote, kept after a save that did not go through;
  // `since`: the last audit line they had seen, when someone else changed it meanwhile.
  async function openDetail(id, typed = null, since = null) {
    const response = await api("GET", `/api/sightings/${encodeURIComponent(id)}`);
    if (!response.ok) return flash("error");
    current = await response.json();
    meanwhile = since === null ? [] : current.audit.filter((e) => e.seq > since);
    renderDetail(current);
    // A message answers the save it came from, not this sighting.
    say("triage-message");
    // Never anyone else's words in this reviewer's box: theirs are in the history.
    $("triage-note").value = typed ? typed.note : "";
    $("triage-to").value = typed && current.next.includes(typed.to) ? typed.to : "";
    $("detail").hidden = false;
    $("detail-title").focus();
    map().focus(current.report);
  }

  function definitions(list, pairs) {
    list.replaceChildren();
    for (const [term, value] of pairs) {
      const dd = el("dd");
      dd.append(value instanceof Node ? value : document.createTextNode(String(value)));
      list.append(el("dt", term), dd);
    }
  }

  function renderDetail({ triage, report, map: mapLink, next, audit }) {
    $("detail-title").textContent = t("detail_title", { id: triage.id });
    $("detail-title").setAttribute("tabindex", "-1");
    const photo = $("detail-photo");
    photo.hidden = !triage.verified;
    if (triage.verified) {
      photo.src = `/api/sightings/${encodeURIComponent(triage.id)}/photo`;
      photo.alt = t("photo_of", { id: triage.id.slice(0, 8) });
    } else photo.removeAttribute("src");
    const verification = $("detail-verification");
    verification.className = triage.verified ? "verified" : "failed";
    verification.textContent = triage.verified ? t("verified") : `${t("failed")}${t("colon")}${triage.failure || ""} ${t("failed_never_lead")}`;

    $("detail-zone").textContent = t("time_zone", { zone: config.time_zone || Intl.DateTimeFormat().resolvedOptions().timeZone });
    definitions($("detail-times"), [
      [t("time_captured"), time(report && report.captured_at)],
      [t("time_corrected"), time(report && report.corrected_captured_at)],
      [t("time_received"), time(report && report.received_at)],
    ]);
    const skew = report && report.clock_skew_s;
    let skewText = report && report.received_at && skew == null ? t("skew_unknown") : "";
    if (skew != null && skew !== 0) {
      skewText = skew > 0 ? t("skew_ahead", { d: duration(skew) }) : t("skew_behind", { d: duration(skew) });
      if (report.clock_flagged) skewText += ` ${t("skew_flagged")}`;
    }
    // A receipt the organisation's intake key does not vouch for: its time of receipt neither.
    const receiptDoubt = report && report.receipt && report.receipt !== "verified";
    if (receiptDoubt) skewText = `${t("receipt_" + report.receipt)} ${skewText}`;
    $("detail-skew").textContent = skewText;
    $("detail-skew").className = report && (report.clock_flagged || receiptDoubt) ? "flagged" : "";

    const location = report && report.lat != null
      ? [[t("country"), map().countryAt(report.lat, report.lon) || t("country_unknown")],
        [t("coordinates"), `${report.lat.toFixed(6)}, ${report.lon.toFixed(6)}`]]
      : [[t("place"), place(report)]];
    if (mapLink && mapLink.gcj02) location.push([t("coordinates_gcj02"), mapLink.gcj02.map((x) => x.toFixed(6)).join(", ")]);
    if (mapLink) {
      const link = el("a", mapLink.gcj02 ? t("map_link_amap") : t("map_link_osm"), { href: mapLink.url, target: "_blank", rel: "noopener noreferrer" });
      location.push([t("map_link"), link]);
    }
    if (report && report.accuracy_m != null) location.push([t("accuracy_label"), t("accuracy", { m: Math.round(report.accuracy_m) })]);
    if (report && report.same_photo) location.push([t("same_photo"), t("same_photo_group", { c: report.same_photo })]);
    definitions($("detail-location"), location);
    $("detail-note").textContent = visible((report && report.note) || "");
    // Tags: whatever the reporter's app added; the heading only when there are some.
    const tags = Object.entries((report && report.tags) || {});
    $("detail-tags-heading").hidden = tags.length === 0;
    definitions($("detail-tags"), tags.map(([k, v]) => [visible(k), visible(typeof v === "string" ? v : JSON.stringify(v))]));

    // What the reporter saw: the heading only when they said something.
    const seen = observations(report && report.observations, current.case_known);
    $("detail-observations-heading").hidden = seen.length === 0;
    definitions($("detail-observations"), seen);
    $("detail-triage").textContent = t("triage_" + triage.triage);
    // Keeping the status is the default: a note alone is a comment.
    const chosen = $("triage-to").value;
    const keep = el("option", t("keep_status", { status: t("triage_" + triage.triage) }), { value: "" });
    $("triage-to").replaceChildren(keep, ...next.map((x) => el("option", t("triage_" + x), { value: x })));
    $("triage-to").value = next.includes(chosen) ? chosen : "";
    $("triage-conflict").hidden = meanwhile.length === 0;
    $("triage-conflict-list").replaceChildren(...meanwhile.map((entry) => auditLine(entry)));
    $("detail-assignee").textContent = triage.assignee || t("nobody");
    $("assign-to").value = triage.assignee || "";
    $("detail-history").replaceChildren(...audit.map((entry) => auditLine(entry)));
  }

  // The reporter's answers, in words; a case number the register lacks is said to be so.
  function observations(seen, caseKnown) {
    if (!seen) return [];
    const rows = [];
    if (seen.case_number) {
      rows.push([t("obs_case"), caseKnown ? seen.case_number : t("obs_case_unknown", { n: seen.case_number })]);
    }
    if (seen.sex) rows.push([t("obs_sex"), t("sex_" + seen.sex)]);
    if (seen.age_band) rows.push([t("obs_age_band"), t("age_" + seen.age_band)]);
    if (seen.injury_or_disability != null) rows.push([t("obs_injury"), seen.injury_or_disability ? t("yes") : t("no")]);
    if (seen.with_adults) rows.push([t("obs_with_adults"), t("adults_" + seen.with_adults)]);
    if (seen.activity) rows.push([t("obs_activity"), t("activity_" + seen.activity)]);
    return rows;
  }

  function auditLine(entry) {
    const li = el("li");
    li.append(time(new Date(entry.at_ms).toISOString()), ` · ${entry.reviewer || t("desk_itself")} · ${t("action_" + entry.action)}`);
    // An assignment names no one on one side when it begins or ends.
    const change = entry.action === "assign" ? [entry.from || t("nobody"), entry.to || t("nobody")]
      : [entry.from, entry.to].filter(Boolean).map(value);
    if (change.length) li.append(` · ${change.join(" → ")}`);
    if (entry.note) li.append(el("q", visible(entry.note), { class: "stranger", dir: "auto" }));
    return li;
  }

  // An audit value: a triage status, an outcome or a case's publication in words, anything
  // else as written.
  function value(v) {
    if (TRIAGE.includes(v)) return t("triage_" + v);
    if (v === "verified" || v === "failed") return t("outcome_" + v);
    if (["draft", "published", "closed"].includes(v)) return t("publication_" + v);
    if (v === "possible_match" || v === "not_this_child") return t("decision_" + v);
    return v;
  }

  function typedNow() {
    return { to: $("triage-to").value, note: $("triage-note").value };
  }

  async function changeTriage(event) {
    event.preventDefault();
    const { triage } = current;
    const typed = typedNow();
    if (!typed.to && !typed.note.trim()) {
      say("triage-message", "nothing_to_save");
      $("triage-message").className = "problem";
      return;
    }
    const response = await api("POST", `/api/sightings/${encodeURIComponent(triage.id)}/triage`, {
      to: typed.to || null, version: triage.version, note: typed.note,
    });
    await afterChange(response, triage.id, response.ok ? null : typed);
  }

  async function assignMe() {
    const { triage } = current;
    const response = await api("POST", `/api/sightings/${encodeURIComponent(triage.id)}/assign`, {
      assignee: $("assign-to").value || null, version: triage.version,
    });
    await afterChange(response, triage.id, typedNow());
  }

  // The sighting as it is now; on a conflict the reviewer's choice and note stay, and what
  // changed since they opened it is shown beside them.
  async function afterChange(response, id, typed) {
    const message = response.ok ? "saved"
      : response.status === 409 ? "conflict"
        : response.status === 422 ? "refused" : "error";
    const seen = Math.max(0, ...current.audit.map((e) => e.seq));
    await openDetail(id, typed, response.status === 409 ? seen : null);
    say("triage-message", message);
    $("triage-message").className = response.ok ? "ok" : "problem";
    await refresh();
  }

  // ---- Tabs ----

  const TABS = ["sightings", "cases", "audit", "account"];

  async function showTab(name) {
    for (const tab of TABS) {
      $(`tab-${tab}`).setAttribute("aria-pressed", String(tab === name));
      $(`${tab}-pane`).hidden = tab !== name;
    }
    // A message belongs to the view it answered: none carries over to another tab.
    flash();
    for (const message of document.querySelectorAll("#desk-view [role=alert]")) say(message);
    if (name === "sightings") return map().shown();
    if (name === "cases") return window.SightingDesk.showCases();
    if (name === "audit") return window.SightingAdmin.showAudit();
    return window.SightingAdmin.showAccount();
  }

  // ---- Start ----

  async function start() {
    words = await (await fetch("/static/words.json")).json();
    lang = localStorage.getItem("sighting-desk-lang") || (navigator.language.toLowerCase().startsWith("zh") ? "zh" : "en");
    applyWords();
    $("lang").addEventListener("change", () => {
      lang = $("lang").value;
      localStorage.setItem("sighting-desk-lang", lang);
      applyWords();
      if (me) {
        renderList();
        if (current) renderDetail(current);
        const shown = TABS.find((tab) => !$(`${tab}-pane`).hidden);
        if (shown !== "sightings") showTab(shown);
      }
    });
    $("login-form").addEventListener("submit", login);
    $("logout").addEventListener("click", logout);
    $("filter-triage").addEventListener("change", () => refresh(true));
    window.SightingDesk.search.start();
    // A page message answers the last thing done: the next click on a control, choice or
    // search clears it (before that action's own answer). A dialog's controls do not: the
    // message is behind the dialog, for after it.
    for (const type of ["click", "change", "submit"]) {
      document.addEventListener(type, (event) => {
        const target = event.target;
        if (target.closest("dialog")) return;
        if (type === "click" && !target.closest("button, a, input, select, label")) return;
        flash();
      }, true);
    }
    $("prev").addEventListener("click", () => { offset = Math.max(0, offset - PAGE); refresh(); });
    $("next").addEventListener("click", () => { offset += PAGE; refresh(); });
    $("triage-form").addEventListener("submit", changeTriage);
    $("assign-me").addEventListener("click", assignMe);
    $("detail-close").addEventListener("click", () => { $("detail").hidden = true; current = null; map().highlight(null); });
    // A tab whose request found the session ended has shown the login already.
    const unlessLoggedOut = (e) => { if (e.message !== "logged out") throw e; };
    for (const tab of TABS) $(`tab-${tab}`).addEventListener("click", () => showTab(tab).catch(unlessLoggedOut));
    const response = await fetch("/api/me", { credentials: "same-origin" });
    if (response.ok) await showDesk(await response.json());
    else showLogin();
    document.body.dataset.ready = "true";
  }

  // A candidate's sighting, opened from its case.
  async function openSighting(id) {
    await showTab("sightings");
    await openDetail(id);
  }

  window.SightingDesk = {
    t, el, api, say, flash, time, visible, openSighting, openDetail, refresh, selected,
    me: () => me, csrf: () => csrf, lang: () => lang, config: () => config, items: () => items,
  };

  // Once every script of the page has run and added its part to window.SightingDesk.
  document.addEventListener("DOMContentLoaded", start);
})();
