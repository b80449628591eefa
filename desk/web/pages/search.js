"use strict";
// Searching the list: words in the reporter's note, an id's start, capture dates (days in the
// desk's time zone), a case, only what is on the map, with the status chosen beside them. The
// server checks every value (desk/src/state/search.rs) and refuses a bad one with the field to
// fix, said here in the reader's language. The downloads are the list as searched, CSV or
// GeoJSON, each audited by the desk. Uses what desk.js shares (window.SightingDesk).
(() => {
  const D = window.SightingDesk;
  const { t } = D;
  const $ = (id) => document.getElementById(id);
  const FIELDS = [["text", "search-text"], ["id", "search-id"], ["from", "search-from"], ["to", "search-to"], ["case", "search-case"]];

  // The search as typed; `area`: with the map's bounds when "only what is on the map" is ticked.
  function query({ area = true } = {}) {
    const q = new URLSearchParams();
    const triage = $("filter-triage").value;
    if (triage) q.set("triage", triage);
    for (const [name, id] of FIELDS) {
      const value = $(id).value.trim();
      if (value) q.set(name, value);
    }
    const bounds = area && $("search-area").checked && D.map.bounds();
    if (bounds) {
      // Leaflet's bounds run past the poles when the world is small on the screen.
      const lat = (x) => Math.max(-90, Math.min(90, x)).toFixed(6);
      q.set("south", lat(bounds.getSouth()));
      q.set("west", bounds.getWest().toFixed(6));
      q.set("north", lat(bounds.getNorth()));
      q.set("east", bounds.getEast().toFixed(6));
    }
    return q;
  }

  // The list shows `q`: the downloads are of the same.
  function shown(q) {
    $("export-csv").href = `/api/export.csv?${q}`;
    $("export-geojson").href = `/api/export.geojson?${q}`;
    $("search-message").textContent = "";
  }

  function refusedWords(code) {
    switch (code) {
      case "search_text": return t("search_refused_text");
      case "search_id": return t("search_refused_id");
      case "search_dates": return t("search_refused_dates");
      case "search_area": return t("search_refused_area");
      case "search_case": return t("search_refused_case");
      default: return t("search_refused_other");
    }
  }

  // The desk refused the search: what to fix, where the reviewer typed it.
  function refused(body) {
    $("search-message").textContent = refusedWords(body && body.error);
  }

  function start() {
    const again = () => D.refresh(true);
    $("search-form").addEventListener("submit", (event) => { event.preventDefault(); again(); });
    $("search-clear").addEventListener("click", () => {
      for (const [, id] of FIELDS) $(id).value = "";
      $("search-area").checked = false;
      again();
    });
    $("search-area").addEventListener("change", again);
    // Only what is on the map: the list follows the map as it moves.
    D.map.onMove(() => { if ($("search-area").checked) again(); });
  }

  D.search = { query, shown, refused, start };
})();
