"use strict";
// The lead package export: the sightings ticked in the list, the case the package is for, the
// officer's language, who it goes to, and (for a case manager) a written reason to send links
// no second reviewer confirmed; once made, the ZIP and its signature to download (the officer
// needs both to check it). Uses what desk.js shares (window.SightingDesk).
(() => {
  const D = window.SightingDesk;
  const { t, el, api, flash, say } = D;
  const $ = (id) => document.getElementById(id);
  // Why the desk cannot make packages yet (the desk's /api/config and the server's refusals
  // say it as one of these codes): each word says who must do what.
  const UNREADY = ["lead_key_missing", "lead_contact_missing", "lead_settings"];

  // Known before any form is filled: the export button is off, and says why beside it.
  function readiness() {
    const why = D.config().lead_unready;
    $("export-lead").disabled = Boolean(why);
    $("export-lead-why").hidden = !why;
    say("export-lead-why", why || "");
  }

  async function openLeadDialog() {
    const selected = D.selected;
    if (selected.size === 0) return flash("lead_none_selected");
    $("lead-count").textContent = t("lead_count", { n: selected.size });
    $("lead-message").textContent = "";
    $("lead-made").hidden = true;
    $("lead-lang").value = D.lang();
    $("lead-override-box").hidden = !["case_manager", "admin"].includes(D.me()?.role);
    const response = await api("GET", "/api/cases");
    const { cases } = response.ok ? await response.json() : { cases: [] };
    const named = D.items().find((i) => selected.has(i.triage.id) && i.report?.observations?.case_number)
      ?.report.observations.case_number;
    $("lead-case").replaceChildren(...cases.map((c) =>
      el("option", t("lead_case_option", { number: c.number, name: c.first_name }), { value: c.number })));
    if (cases.some((c) => c.number === named)) $("lead-case").value = named;
    $("lead-form").querySelector("button[type=submit]").disabled = cases.length === 0;
    if (cases.length === 0) $("lead-message").textContent = t("lead_no_cases");
    $("lead-dialog").showModal();
  }

  async function makeLead(event) {
    event.preventDefault();
    const ids = [...D.selected];
    const response = await api("POST", "/api/leads", {
      ids, case: $("lead-case").value, lang: $("lead-lang").value,
      recipient: $("lead-recipient").value, override_reason: $("lead-override").value,
    });
    const answer = await response.json().catch(() => ({}));
    if (!response.ok) {
      $("lead-message").textContent = UNREADY.includes(answer.error) ? t(answer.error)
        : answer.error === "not_confirmed" ? t("lead_not_confirmed")
          : response.status === 422 ? t("lead_refused") : t("error");
      return;
    }
    for (const [id, name] of [["lead-zip", answer.name], ["lead-sig", answer.signature]]) {
      $(id).href = `/api/leads/${encodeURIComponent(name)}`;
      $(id).download = name;
      $(id).textContent = id === "lead-zip" ? t("lead_download_zip", { name }) : t("lead_download_sig", { name });
    }
    $("lead-made").hidden = false;
    $("lead-message").textContent = "";
    flash("lead_exported", { n: ids.length, name: answer.name });
    await D.refresh();
  }

  function start() {
    D.leadReadiness = readiness;
    $("export-lead").addEventListener("click", openLeadDialog);
    $("lead-form").addEventListener("submit", makeLead);
    $("lead-close").addEventListener("click", () => $("lead-dialog").close());
  }

  start();
})();
