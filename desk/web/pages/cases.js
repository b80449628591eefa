"use strict";
// The desk's case pages: the register, and one case's candidates among all sightings (shown
// and decided on by candidates.js). The ranking only orders; deciding that a sighting is the
// child is the reviewers'. Case
// managers also open cases and take them through the publication gate here (the server
// refuses anyone else, and a case that is not vetted).
//
// Uses the page's helpers (desk.js): words, elements, the API with its CSRF token.
(() => {
  const D = window.SightingDesk;
  const { t, el, api } = D;
  const $ = (id) => document.getElementById(id);
  const SEXES = ["girl", "boy", "unknown"];
  let open = null;
  let shown = null;
  let started = false;

  const manages = () => ["case_manager", "admin"].includes(D.me()?.role);

  async function showCases() {
    if (!started) start();
    $("new-case").hidden = !manages();
    $("cf-sex").replaceChildren(...SEXES.map((s) => el("option", t("sex_" + s), { value: s })));
    const { cases } = await (await api("GET", "/api/cases")).json();
    $("cases").tBodies[0].replaceChildren(...cases.map((c) => {
      const row = el("tr", null, { "data-case": c.number });
      const number = el("td");
      const button = el("button", c.number, { type: "button", class: "open" });
      button.addEventListener("click", () => openCase(c.number));
      number.append(button);
      row.append(number, el("td", c.first_name), el("td", c.missing_since),
        el("td", c.last_seen_district), el("td", t("publication_" + c.publication)));
      return row;
    }));
    if (open) await openCase(open);
  }

  async function openCase(number) {
    open = number;
    const response = await api("GET", `/api/cases/${encodeURIComponent(number)}/candidates`);
    if (!response.ok) return D.flash("error");
    const { case: c, candidates } = await response.json();
    shown = c;
    $("case-detail").hidden = false;
    showManage(c);
    $("case-title").textContent = t("case_title", { number: c.number, name: c.first_name });
    $("case-summary").textContent = t("case_summary", {
      age: c.age_when_missing, since: c.missing_since, place: c.last_seen_district, marks: c.marks || "—",
    });
    D.candidates.show(c, candidates, () => openCase(number));
  }

  // ---- Case managers: opening a case and the publication gate ----

  function showManage(c) {
    $("case-manage").hidden = !manages();
    const missing = [];
    if (!c.police_reference) missing.push(t("case_needs_police"));
    if (!c.consent_at_ms) missing.push(t("case_needs_consent"));
    if (c.photos === 0) missing.push(t("case_needs_photo"));
    $("case-state").textContent = t("case_state", {
      publication: t("publication_" + c.publication),
      missing: missing.length ? t("case_missing_for_publication", { what: missing.join(t("list_joiner")) }) : "",
    });
    const closed = c.publication === "closed";
    $("case-edit").hidden = closed;
    $("case-consent").hidden = Boolean(c.consent_at_ms) || closed;
    $("case-publish").hidden = c.publication !== "draft";
    $("case-close").hidden = closed;
    $("case-photo").disabled = closed || c.photos >= 3;
  }

  // The server's answer to a change, in words; then the case as it is now.
  async function afterChange(response) {
    const answer = await response.json().catch(() => ({}));
    const feed = answer.feed;
    const message = !response.ok
      ? (response.status === 409 ? t("conflict") : response.status === 422 ? refusalWords(answer, false) : t("error"))
      : feed && feed.version ? t("feed_pushed", { version: feed.version })
        : feed && feed.error ? t("feed_not_pushed", { error: feed.error }) : t("saved");
    await openCase(shown.number);
    $("case-message").textContent = message;
    $("case-message").className = response.ok && !(feed && feed.error) ? "ok" : "problem";
    await showCases();
  }

  async function step(name) {
    const path = `/api/cases/${encodeURIComponent(shown.number)}/${name}`;
    await afterChange(await api("POST", path, { version: shown.version }));
  }

  async function addPhoto() {
    const file = $("case-photo").files[0];
    if (!file) return;
    const path = `/api/cases/${encodeURIComponent(shown.number)}/photos?version=${shown.version}`;
    const response = await fetch(path, {
      method: "POST", credentials: "same-origin", body: file,
      headers: { "Content-Type": "image/jpeg", "X-CSRF-Token": D.csrf() },
    });
    $("case-photo").value = "";
    await afterChange(response);
  }

  // The form's inputs by the field names the server uses (`published_fields` names them).
  const FORM_FIELDS = {
    number: "cf-number", first_name: "cf-first-name", sex: "cf-sex", age_when_missing: "cf-age",
    missing_since: "cf-since", last_seen_district: "cf-district", last_seen_lat: "cf-lat",
    last_seen_lon: "cf-lon", marks: "cf-marks",
  };
  const FIELD_WORDS = { first_name: "case_first_name", last_seen_district: "case_last_seen", marks: "case_marks" };
  const NEEDS_WORDS = { police_reference: "case_needs_police", consent: "case_needs_consent", photo: "case_needs_photo" };

  // A refusal of the publication gate in words: what is missing, or the published field that
  // seems to hold contact details; otherwise the server's own words.
  function refusalWords(answer, published) {
    if (answer.field && answer.contact) {
      const what = answer.contact === "phone" ? t("contact_phone")
        : answer.contact === "email" ? t("contact_email") : t("contact_address");
      return t("case_refused_contact", { field: t(FIELD_WORDS[answer.field] || answer.field), what });
    }
    if (Array.isArray(answer.missing)) {
      const what = answer.missing.map((m) => t(NEEDS_WORDS[m] || m)).join(t("list_joiner"));
      return published ? t("case_refused_unvet", { what }) : t("case_refused_missing", { what });
    }
    return answer.detail || t("error");
  }

  // On a published case's form: a notice, and "Published" beside each field phones show.
  function markPublished(c) {
    const published = (c && c.published_fields) || [];
    $("case-form-published").hidden = published.length === 0;
    for (const mark of document.querySelectorAll("#case-form .published-mark")) mark.remove();
    for (const field of published) {
      const label = FORM_FIELDS[field] && document.querySelector(`label[for="${FORM_FIELDS[field]}"]`);
      if (label) label.append(el("span", " — " + t("case_published_field"), { class: "published-mark" }));
    }
  }

  // The form opens a new case, or edits the one shown (`editing`: its number and version).
  let editing = null;

  function openForm(c) {
    editing = c ? { number: c.number, version: c.version } : null;
    $("case-form-title").textContent = c ? t("case_edit_title", { number: c.number }) : t("new_case");
    $("case-form").reset();
    $("cf-number").disabled = Boolean(c);
    if (c) {
      const set = (id, v) => { $(id).value = v ?? ""; };
      set("cf-number", c.number); set("cf-first-name", c.first_name); set("cf-sex", c.sex);
      set("cf-dob", c.date_of_birth); set("cf-age", c.age_when_missing); set("cf-since", c.missing_since);
      set("cf-district", c.last_seen_district); set("cf-lat", c.last_seen_lat); set("cf-lon", c.last_seen_lon);
      set("cf-marks", c.marks); set("cf-police", c.police_reference); set("cf-notes", c.private_notes);
    }
    markPublished(c);
    $("case-form-message").textContent = "";
    $("case-form").hidden = false;
    $(c ? "cf-first-name" : "cf-number").focus();
  }

  async function saveCase(event) {
    event.preventDefault();
    const value = (id) => $(id).value.trim();
    const body = {
      number: value("cf-number"), first_name: value("cf-first-name"), sex: $("cf-sex").value,
      date_of_birth: value("cf-dob") || null, age_when_missing: Number(value("cf-age")),
      missing_since: value("cf-since"), last_seen_district: value("cf-district"),
      last_seen_lat: Number(value("cf-lat")), last_seen_lon: Number(value("cf-lon")),
      marks: value("cf-marks"), police_reference: value("cf-police") || null,
      private_notes: value("cf-notes") || null,
    };
    const response = editing
      ? await api("POST", `/api/cases/${encodeURIComponent(editing.number)}`, { ...body, version: editing.version })
      : await api("POST", "/api/cases", body);
    if (!response.ok) {
      const conflict = editing ? t("conflict") : t("case_exists");
      const answer = await response.json().catch(() => ({}));
      $("case-form-message").textContent = response.status === 409 ? conflict
        : refusalWords(answer, shown && editing && shown.publication === "published");
      return;
    }
    $("case-form").reset();
    $("case-form").hidden = true;
    open = body.number;
    await showCases();
  }

  function start() {
    started = true;
    $("new-case").addEventListener("click", () => openForm(null));
    $("case-edit").addEventListener("click", () => openForm(shown));
    $("case-form").addEventListener("submit", saveCase);
    $("case-consent").addEventListener("click", () => step("consent"));
    $("case-publish").addEventListener("click", () => step("publish"));
    $("case-close").addEventListener("click", () => step("close"));
    $("case-photo").addEventListener("change", addPhoto);
  }

  D.showCases = showCases;
})();
