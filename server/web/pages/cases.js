"use strict";
// The desk's case pages: the register, and one case's candidates among all sightings, best
// first, with the reasons for each, the case photo beside each sighting photo, and the
// reviewer's decision (possible match → escalate, or not this child), audited on the server.
// The ranking only orders; deciding that a sighting is the child is the reviewer's.
//
// Uses the page's helpers (desk.js): words, elements, the API with its CSRF token.
(() => {
  const D = window.SightingDesk;
  const { t, el, api } = D;
  const $ = (id) => document.getElementById(id);
  let open = null;

  async function showCases() {
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
    if (!response.ok) return D.flash(t("error"));
    const { case: c, candidates } = await response.json();
    $("case-detail").hidden = false;
    $("case-title").textContent = t("case_title", { number: c.number, name: c.first_name });
    $("case-summary").textContent = t("case_summary", {
      age: c.age_when_missing, since: c.missing_since, place: c.last_seen_district, marks: c.marks || "—",
    });
    $("candidates-count").textContent = t("candidates_count", { n: candidates.length });
    $("candidates").tBodies[0].replaceChildren(...candidates.map((row) => candidateRow(c, row)));
  }

  function candidateRow(c, { candidate, report, decision }) {
    const id = candidate.sighting_id;
    const row = el("tr", null, { "data-sighting": id });
    const casePhoto = el("td");
    if (c.photos > 0) {
      casePhoto.append(el("img", null, {
        src: `/api/cases/${encodeURIComponent(c.number)}/photos/0`, width: "120", height: "120",
        alt: t("case_photo_alt", { name: c.first_name }),
      }));
    }
    const photo = el("td");
    photo.append(el("img", null, {
      src: `/api/sightings/${encodeURIComponent(id)}/thumb`, width: "120", height: "120",
      alt: t("candidate_photo_alt", { id: id.slice(0, 8) }),
    }));
    const about = el("td");
    about.append(el("div", id.slice(0, 8), { class: "id" }));
    if (report.captured_at) about.append(D.time(report.captured_at));
    const reasons = el("ul", null, { class: "reasons" });
    for (const r of candidate.reasons) reasons.append(el("li", reason(r), { "data-kind": r.kind }));
    if (candidate.same_photo.length) {
      reasons.append(el("li", t("same_photo_merged", { n: candidate.same_photo.length })));
    }
    const why = el("td");
    why.append(reasons);
    row.append(casePhoto, photo, about, el("td", String(candidate.score), { class: "score" }), why,
      decisionCell(c.number, id, decision));
    return row;
  }

  // A reason in words, its values filled in (a sex or age band in words too).
  function reason(r) {
    const vars = { ...r };
    if (r.seen && typeof r.seen === "string") {
      vars.seen = r.kind.startsWith("sex_") ? t("sex_" + r.seen) : t("age_" + r.seen);
    }
    return t("reason_" + r.kind, vars);
  }

  function decisionCell(number, id, decision) {
    const cell = el("td", null, { class: "decision" });
    if (decision) {
      cell.append(el("p", t("decided", {
        decision: t("decision_" + decision.decision), by: decision.by,
      }), { class: decision.decision === "possible_match" ? "ok" : "" }));
    }
    for (const choice of ["possible_match", "not_this_child"]) {
      const button = el("button", t("decide_" + choice), { type: "button", "data-decision": choice });
      button.addEventListener("click", async () => {
        const response = await api("POST",
          `/api/cases/${encodeURIComponent(number)}/candidates/${encodeURIComponent(id)}`,
          { decision: choice });
        D.flash(response.ok ? t("saved") : t("error"));
        await openCase(number);
      });
      cell.append(button);
    }
    return cell;
  }

  D.showCases = showCases;
})();
