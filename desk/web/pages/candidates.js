"use strict";
// A case's candidate sightings and the decision on each: a reviewer proposes a possible match
// (the sighting is linked to the case and waits for a second reviewer) or says it is not this
// child; a second reviewer, never the proposer, confirms or rejects the link with a note. The
// server refuses anything else. Rows keep their order while reviewers decide, so the next
// click lands where they looked; "Sort again" asks for the ranking's order.
//
// Everything a reporter wrote enters the page as text, isolated (dir="auto", <bdi>) so a note
// in another script or with direction overrides cannot reorder what is around it.
(() => {
  const D = window.SightingDesk;
  const { t, el, api } = D;
  const $ = (id) => document.getElementById(id);
  // The order each case's rows were first shown in, kept until "Sort again".
  const order = new Map();
  let shown = null;

  // `reload` fetches the case and its candidates again and calls `show` with them.
  function show(c, candidates, reload) {
    shown = { c, candidates, reload };
    const kept = order.get(c.number);
    const rank = new Map((kept || []).map((id, i) => [id, i]));
    const rows = kept
      ? [...candidates].sort((a, b) => (rank.get(a.candidate.sighting_id) ?? Infinity)
        - (rank.get(b.candidate.sighting_id) ?? Infinity))
      : candidates;
    order.set(c.number, [...new Set([...(kept || []), ...rows.map((r) => r.candidate.sighting_id)])]);
    $("candidates-count").textContent = t("candidates_count", { n: candidates.length });
    const waiting = candidates.filter((r) => r.decision && awaits(r.decision)).length;
    const confirmed = candidates.filter((r) => r.decision && r.decision.review === "confirmed").length;
    $("candidates-queue").textContent = t("candidates_queue", { waiting, confirmed });
    $("candidates").tBodies[0].replaceChildren(...rows.map((row) => candidateRow(c, row)));
  }

  const awaits = (d) => d.decision === "possible_match" && !d.review;

  function candidateRow(c, { candidate, report, decision }) {
    const id = candidate.sighting_id;
    const row = el("tr", null, { "data-sighting": id });
    const photos = el("td", null, { class: "photos" });
    const enlarge = el("button", null, { type: "button", class: "enlarge", "aria-label": t("enlarge_photos", { id: id.slice(0, 8) }) });
    if (c.photos > 0) {
      enlarge.append(el("img", null, {
        src: `/api/cases/${encodeURIComponent(c.number)}/photos/0`, width: "120", height: "120",
        alt: t("case_photo_alt", { name: c.first_name }),
      }));
    }
    enlarge.append(el("img", null, {
      src: `/api/sightings/${encodeURIComponent(id)}/thumb`, width: "120", height: "120",
      alt: t("candidate_photo_alt", { id: id.slice(0, 8) }),
    }));
    enlarge.addEventListener("click", () => compare(c, id));
    photos.append(enlarge);

    const about = el("td", null, { class: "about" });
    const open = el("button", t("open_sighting", { id: id.slice(0, 8) }), { type: "button", class: "open-sighting" });
    open.addEventListener("click", () => D.openSighting(id));
    about.append(open);
    if (report.captured_at) about.append(el("br"), D.time(report.captured_at));
    // Where it is known, the distance is the first reason (one figure, not two roundings).
    if (report.km == null) about.append(el("p", t("distance_unknown"), { class: "km" }));
    if (report.note) {
      const note = el("p", null, { class: "stranger reporter-note", dir: "auto" });
      note.append(el("span", t("reporter_note") + " "), el("bdi", report.note));
      about.append(note);
    }

    const reasons = el("ul", null, { class: "reasons" });
    for (const r of candidate.reasons) reasons.append(el("li", reason(r, report.km), { "data-kind": r.kind }));
    if (candidate.same_photo.length) {
      reasons.append(el("li", t("same_photo_merged", { n: candidate.same_photo.length })));
    }
    const why = el("td");
    why.append(reasons);
    row.append(photos, about, el("td", String(candidate.score), { class: "score" }), why,
      decisionCell(c.number, id, decision));
    return row;
  }

  // A reason in words, its values filled in (a sex or age band in words too).
  function reason(r, km) {
    const vars = { ...r };
    if (r.seen && typeof r.seen === "string") {
      vars.seen = r.kind.startsWith("sex_") ? t("sex_" + r.seen) : t("age_" + r.seen);
    }
    // The distance to a tenth of a kilometre, as the desk measured it for this row.
    if (r.km !== undefined && km != null) vars.km = km < 10 ? km.toFixed(1) : String(Math.round(km));
    return t("reason_" + r.kind, vars);
  }

  // Who said what, the note as the reviewer wrote it (isolated: a reviewer's words are text).
  function said(words, note, cls) {
    const p = el("p", words, { class: cls || "" });
    if (note) p.append(" ", el("bdi", note, { class: "stranger", dir: "auto" }));
    return p;
  }

  function decisionCell(number, id, d) {
    const cell = el("td", null, { class: "decision" });
    let choices = ["possible_match", "not_this_child"];
    if (d && awaits(d)) {
      cell.append(said(t("link_awaiting", { by: d.by }), d.note, "waiting"));
      const mine = d.by === D.me()?.name;
      if (mine) cell.append(el("p", t("link_own_proposal")));
      choices = mine ? [] : ["confirmed", "rejected"];
    } else if (d && d.review === "confirmed") {
      cell.append(said(t("link_confirmed_by", { by: d.reviewed_by, proposer: d.by }), d.review_note, "ok"));
      choices = [];
    } else if (d && d.review === "rejected") {
      cell.append(said(t("link_rejected_by", { by: d.reviewed_by, proposer: d.by }), d.review_note));
    } else if (d) {
      cell.append(said(t("decided", { decision: t("decision_" + d.decision), by: d.by }), d.note));
    }
    if (choices.length === 0) return cell;
    const reviewing = choices[0] === "confirmed";
    const noteId = `decision-note-${id}`;
    cell.append(el("label", reviewing ? t("review_note") : t("decision_note"), { for: noteId }),
      el("textarea", null, { id: noteId, rows: "2", maxlength: "1000", dir: "auto" }));
    const message = el("p", null, { class: "problem", role: "status" });
    for (const choice of choices) {
      const button = el("button", t("decide_" + choice), { type: "button", "data-decision": choice });
      button.addEventListener("click", async () => {
        const note = $(noteId).value;
        if (reviewing && !note.trim()) {
          message.textContent = t("review_note_needed");
          return $(noteId).focus();
        }
        const body = reviewing ? { review: choice, note } : { decision: choice, note };
        const response = await api("POST",
          `/api/cases/${encodeURIComponent(number)}/candidates/${encodeURIComponent(id)}`, body);
        const answer = await response.json().catch(() => ({}));
        if (!response.ok) {
          message.textContent = answer.error === "own_proposal" ? t("link_own_proposal")
            : answer.error === "note_needed" ? t("review_note_needed")
              : response.status === 422 ? t("refused") : t("error");
          return;
        }
        D.flash("saved");
        await shown.reload();
      });
      cell.append(button);
    }
    cell.append(message);
    return cell;
  }

  // Both photos large, side by side, to compare.
  function compare(c, id) {
    const photos = [];
    if (c.photos > 0) {
      photos.push(el("img", null, { src: `/api/cases/${encodeURIComponent(c.number)}/photos/0`, alt: t("case_photo_alt", { name: c.first_name }) }));
    }
    photos.push(el("img", null, { src: `/api/sightings/${encodeURIComponent(id)}/photo`, alt: t("candidate_photo_alt", { id: id.slice(0, 8) }) }));
    $("compare-photos").replaceChildren(...photos);
    $("compare-dialog").showModal();
  }

  function start() {
    $("candidates-resort").addEventListener("click", () => {
      if (!shown) return;
      order.delete(shown.c.number);
      shown.reload();
    });
    $("compare-close").addEventListener("click", () => $("compare-dialog").close());
  }

  D.candidates = { show };
  start();
})();
