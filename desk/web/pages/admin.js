"use strict";
// The desk's people and history: the Account tab (everyone's own API tokens; for an admin the
// desk's people: add, disable, enable, unlock, a new passphrase), who a sighting can be
// assigned to, and the Audit tab (newest first, a page at a time, filtered), every line in
// words. Uses what desk.js shares (window.SightingDesk).
(() => {
  const $ = (id) => document.getElementById(id);
  const desk = () => window.SightingDesk;
  const t = (key, vars) => desk().t(key, vars);
  const el = (...args) => desk().el(...args);
  // A stranger's text with its direction controls shown, where desk.js offers it.
  const visible = (text) => (desk().visible ? desk().visible(text) : text);
  const AUDIT_PAGE = 50;
  let auditOffset = 0;
  const ROLES = ["reviewer", "case_manager", "admin"];

  // A case field's word where its name differs from the word's key.
  const FIELD_WORDS = { last_seen_district: "case_last_seen", last_seen_lat: "case_lat", last_seen_lon: "case_lon" };
  const known = (key) => t(key) !== key;

  // A word for a value from the log (a status, a role, the case fields changed…), or the value.
  function value(v) {
    for (const prefix of ["triage_", "outcome_", "publication_", "decision_", "role_"]) {
      if (known(prefix + v)) return t(prefix + v);
    }
    return String(v).split(",").map((field) => {
      const key = FIELD_WORDS[field] || "case_" + field;
      return known(key) ? t(key) : field;
    }).join(", ");
  }

  // One audit line in words: what happened, to whom or what.
  function describe(e) {
    const name = e.to || "";
    switch (e.action) {
      case "reviewer_added": return t("audit_reviewer_added", { name, role: value(e.note || "reviewer") });
      case "reviewer_disabled": return t("audit_reviewer_disabled", { name });
      case "reviewer_enabled": return t("audit_reviewer_enabled", { name });
      case "password_reset": return t("audit_password_reset", { name });
      case "logins_unlocked": return t("audit_logins_unlocked", { name });
      case "token_made": return t("audit_token_made", { name });
      case "token_revoked": return t("audit_token_revoked", { name });
      case "candidate_decision": return t("audit_candidate_decision", { case: e.case_number || "" });
      default: return describeAction(e.action);
    }
  }

  // Whether the From and To columns say anything beyond the description.
  const PEOPLE = ["reviewer_added", "reviewer_disabled", "reviewer_enabled", "password_reset", "logins_unlocked", "token_made", "token_revoked"];

  function auditRow(e) {
    const row = el("tr", null, { "data-seq": e.seq });
    const when = el("td");
    when.append(desk().time(new Date(e.at_ms).toISOString()));
    const what = [];
    if (e.sighting_id) what.push(t("audit_of_sighting", { id: e.sighting_id.slice(0, 8) }));
    if (e.case_number) what.push(t("audit_of_case", { number: e.case_number }));
    const people = PEOPLE.includes(e.action);
    const side = (v) => (v ? value(v) : e.action === "assign" ? t("nobody") : "");
    // No one named: the desk opening a report, else its operator on the command line.
    const who = e.reviewer || (e.action === "opened" ? t("desk_itself") : t("audit_command_line"));
    row.append(when, el("td", who), el("td", what.join(" · ")),
      el("td", describe(e)), el("td", people ? "" : side(e.from)), el("td", people ? "" : side(e.to)),
      el("td", e.action === "reviewer_added" || !e.note ? "" : visible(e.note), { class: "stranger", dir: "auto" }));
    return row;
  }

  async function showAudit() {
    await fillPeople();
    const q = new URLSearchParams({ offset: auditOffset, limit: AUDIT_PAGE });
    for (const [name, id] of [["person", "audit-person"], ["action", "audit-action"], ["sighting", "audit-sighting-filter"], ["case", "audit-case"]]) {
      const v = $(id).value.trim();
      if (v) q.set(name, v);
    }
    const response = await desk().api("GET", `/api/audit?${q}`);
    if (!response.ok) return desk().flash("error");
    const { entries, total, actions } = await response.json();
    fillActions(actions);
    $("audit").tBodies[0].replaceChildren(...entries.map(auditRow));
    const pages = Math.max(1, Math.ceil(total / AUDIT_PAGE));
    $("audit-page").textContent = t("audit_page", { page: Math.floor(auditOffset / AUDIT_PAGE) + 1, pages, n: total });
    $("audit-prev").disabled = auditOffset === 0;
    $("audit-next").disabled = auditOffset + AUDIT_PAGE >= total;
  }

  function fillActions(actions) {
    const chosen = $("audit-action").value;
    $("audit-action").replaceChildren(el("option", t("all"), { value: "", "data-i18n": "all" }),
      ...actions.map((a) => el("option", describeAction(a), { value: a })));
    $("audit-action").value = actions.includes(chosen) ? chosen : "";
  }

  // An action's name for the filter.
  const describeAction = (a) => (known("action_" + a) ? t("action_" + a) : t("audit_unknown_action"));

  async function fillPeople() {
    const response = await desk().api("GET", "/api/people");
    const { people } = response.ok ? await response.json() : { people: [] };
    const person = $("audit-person").value;
    $("audit-person").replaceChildren(el("option", t("all"), { value: "", "data-i18n": "all" }), ...people.map((p) => el("option", p.name, { value: p.name })));
    $("audit-person").value = person;
    const assignee = $("assign-to").value;
    // Keyed options follow a language switch (desk.js applyWords).
    $("assign-to").replaceChildren(el("option", t("nobody"), { value: "", "data-i18n": "nobody" }),
      ...people.filter((p) => !p.disabled).map((p) => el("option", p.name, { value: p.name })));
    $("assign-to").value = assignee;
    return people;
  }

  // ---- Account: tokens, and for an admin the people ----

  async function showAccount() {
    const me = desk().me();
    $("people-section").hidden = me.role !== "admin";
    const [people] = await Promise.all([fillPeople(), showTokens()]);
    if (me.role === "admin") showPeople(people);
  }

  async function showTokens() {
    const response = await desk().api("GET", "/api/tokens");
    const { tokens } = response.ok ? await response.json() : { tokens: [] };
    // None yet: how to make one, not bare headers.
    $("tokens").hidden = tokens.length === 0;
    $("tokens-empty").hidden = tokens.length !== 0;
    $("tokens").tBodies[0].replaceChildren(...tokens.map((k) => {
      const row = el("tr");
      const made = el("td");
      made.append(desk().time(new Date(k.created_at_ms).toISOString()));
      const action = el("td");
      if (k.revoked_at_ms) action.textContent = t("token_revoked_state");
      else {
        const revoke = el("button", t("token_revoke"), { type: "button", "aria-label": t("token_revoke_named", { label: k.label }) });
        revoke.addEventListener("click", () => act(`/api/tokens/${k.id}/revoke`, undefined, "token-message", showTokens));
        action.append(revoke);
      }
      row.append(el("td", k.label, { dir: "auto" }), made, action);
      return row;
    }));
  }

  async function makeToken(event) {
    event.preventDefault();
    const response = await desk().api("POST", "/api/tokens", { label: $("token-label").value });
    const answer = await response.json().catch(() => ({}));
    if (!response.ok) return message("token-message", false, answer);
    $("token-label").value = "";
    $("token-once").hidden = false;
    $("token-value").value = answer.token;
    message("token-message", true);
    await showTokens();
  }

  function showPeople(people) {
    $("people").tBodies[0].replaceChildren(...people.map((p) => {
      const row = el("tr", null, { "data-name": p.name });
      const actions = el("td");
      const button = (label, named, path) => {
        const b = el("button", label, { type: "button", "aria-label": named });
        b.addEventListener("click", () => act(`/api/people/${encodeURIComponent(p.name)}/${path}`, undefined, "people-message", showAccount));
        return b;
      };
      const vars = { name: p.name };
      actions.append(p.disabled ? button(t("person_enable"), t("person_enable_named", vars), "enable")
        : button(t("person_disable"), t("person_disable_named", vars), "disable"),
      button(t("person_unlock"), t("person_unlock_named", vars), "unlock"));
      row.append(el("td", p.name, { dir: "auto" }), el("td", t("role_" + p.role)),
        el("td", p.disabled ? t("person_disabled") : t("person_active")), actions);
      return row;
    }));
    $("reset-name").replaceChildren(...people.map((p) => el("option", p.name, { value: p.name })));
  }

  async function act(path, body, messageId, then) {
    const response = await desk().api("POST", path, body);
    const answer = await response.json().catch(() => ({}));
    message(messageId, response.ok, answer);
    await then();
  }

  // The desk's reason for a refused account change, in words.
  function accountProblem(detail) {
    if (detail.includes("exists already")) return t("person_exists");
    if (detail.includes("last active admin")) return t("person_last_admin");
    if (detail.includes("password is")) return t("person_bad_passphrase");
    return t("account_refused");
  }

  // A form's answer in words: saved, or why not (the desk's reason for a refused account).
  function message(id, ok, answer = {}) {
    $(id).textContent = ok ? t("saved") : answer.error === "admin" ? t("admins_only")
      : answer.error === "account" ? accountProblem(answer.detail || "") : t("error");
    $(id).className = ok ? "ok" : "problem";
  }

  async function addPerson(event) {
    event.preventDefault();
    const body = { name: $("person-name").value, password: $("person-password").value, role: $("person-role").value };
    const response = await desk().api("POST", "/api/people", body);
    const answer = await response.json().catch(() => ({}));
    message("people-message", response.ok, answer);
    if (response.ok) $("person-form").reset();
    await showAccount();
  }

  async function resetPassphrase(event) {
    event.preventDefault();
    const name = $("reset-name").value;
    const body = { password: $("reset-password").value };
    await act(`/api/people/${encodeURIComponent(name)}/reset`, body, "people-message", showAccount);
    $("reset-password").value = "";
  }

  function applyWords() {
    $("person-role").replaceChildren(...ROLES.map((r) => el("option", t("role_" + r), { value: r })));
  }

  function start() {
    $("token-form").addEventListener("submit", makeToken);
    $("person-form").addEventListener("submit", addPerson);
    $("reset-form").addEventListener("submit", resetPassphrase);
    $("audit-filter").addEventListener("submit", (event) => { event.preventDefault(); auditOffset = 0; showAudit(); });
    $("audit-prev").addEventListener("click", () => { auditOffset = Math.max(0, auditOffset - AUDIT_PAGE); showAudit(); });
    $("audit-next").addEventListener("click", () => { auditOffset += AUDIT_PAGE; showAudit(); });
  }

  window.SightingAdmin = { showAudit, showAccount, fillPeople, applyWords };
  start();
})();
