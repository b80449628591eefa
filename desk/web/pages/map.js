"use strict";
// The sightings on the map: a dot per sighting coloured by its status, clustered; the same
// photo sent more than once joined by a dashed line; the open sighting ringed; country
// outlines under everything, all the map there is when no tile server answers, and the
// country a point is in. Uses what desk.js shares (window.SightingDesk).
(() => {
  const D = window.SightingDesk;
  const { t, el, api } = D;
  const $ = (id) => document.getElementById(id);
  const COLOURS = {
    new: "#b3261e", in_review: "#b35c00", possible_match: "#8a6d00", forwarded_to_police: "#1b5e20",
    linked_to_case: "#0d47a1", not_relevant: "#555555", duplicate: "#6a1b9a",
  };
  // The map's own zoom range: the cluster layer needs one, and with no tile server there is no
  // tile layer to give it.
  const MAX_ZOOM = 19;
  // Past this zoom the outlines alone are a blank square: say there is no street map.
  const CITY_ZOOM = 7;

  let map = null;
  let zoom = null;
  let markers = null;
  let samePhotos = null;
  let selectedRing = null;
  let countries = [];
  let tilesFailed = false;
  // Called when the view has moved (search.js: only what is on the map).
  let moved = null;

  // Which country's outline holds a point (Natural Earth 1:110m: coarse at coasts and borders).
  function inRing(lon, lat, ring) {
    let inside = false;
    for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
      const [xi, yi] = ring[i];
      const [xj, yj] = ring[j];
      if ((yi > lat) !== (yj > lat) && lon < ((xj - xi) * (lat - yi)) / (yj - yi) + xi) inside = !inside;
    }
    return inside;
  }

  function countryAt(lat, lon) {
    for (const feature of countries) {
      const g = feature.geometry;
      const polygons = g.type === "Polygon" ? [g.coordinates] : g.coordinates;
      const hit = polygons.some((p) => inRing(lon, lat, p[0]) && !p.slice(1).some((hole) => inRing(lon, lat, hole)));
      if (hit) return feature.properties[D.lang()] || feature.properties.en;
    }
    return null;
  }

  function resetZoomControl() {
    if (zoom) zoom.remove();
    zoom = L.control.zoom({ zoomInTitle: t("zoom_in"), zoomOutTitle: t("zoom_out") }).addTo(map);
  }

  function showMapStatus() {
    if (!map) return;
    const tiles = D.config().tiles;
    const outlinesOnly = !tiles || tilesFailed;
    const city = outlinesOnly && map.getZoom() >= CITY_ZOOM;
    $("map").classList.toggle("no-street-map", city);
    const why = !tiles ? t("map_outlines_only") : tilesFailed ? t("map_tiles_unreachable") : "";
    $("map-status").textContent = city ? `${why} ${t("map_no_street_map")}` : why;
  }

  // The map's words in the reader's language.
  function applyWords() {
    if (map) resetZoomControl();
    showMapStatus();
  }

  // The sighting open in the details, ringed on the map.
  function highlight(report) {
    if (selectedRing) selectedRing.remove();
    selectedRing = null;
    if (!report || report.lat == null) return;
    // Above the clusters' icons, so it shows round a cluster that holds it too.
    selectedRing = L.circleMarker([report.lat, report.lon], {
      radius: 26, color: "#000000", weight: 3, dashArray: "4 3", fill: false, interactive: false,
      className: "sighting-selected", pane: "selected",
    }).addTo(map);
  }

  // The sighting opened: the map moves to it and rings it.
  function focus(report) {
    if (report && report.lat != null) map.setView([report.lat, report.lon], Math.max(map.getZoom(), 10));
    highlight(report);
  }

  function clusterIcon(cluster) {
    const n = cluster.getChildCount();
    const size = n < 10 ? "small" : n < 100 ? "medium" : "large";
    const inner = el("div");
    inner.append(el("span", n, { "aria-hidden": "true" }), el("span", t("cluster_of", { n }), { class: "visually-hidden" }));
    return L.divIcon({
      html: inner, className: `marker-cluster marker-cluster-${size}`, iconSize: L.point(40, 40),
    });
  }

  // Makes the map once; `outlined` runs when the outlines are in (places can name countries).
  function init(outlined) {
    if (map) return;
    const config = D.config();
    map = L.map("map", { zoomControl: false, worldCopyJump: true, maxZoom: MAX_ZOOM }).setView([20, 10], 2);
    map.attributionControl.setPrefix(false);
    map.on("zoomend", showMapStatus);
    map.on("moveend", () => { if (moved) moved(); });
    resetZoomControl();
    // Country outlines under everything: all the map there is when no tile server answers.
    map.createPane("outlines").style.zIndex = 150;
    map.createPane("selected").style.zIndex = 650;
    fetch("/static/vendor/countries.json").then((r) => r.json()).then((outlines) => {
      countries = outlines.features;
      L.geoJSON(outlines, {
        pane: "outlines", interactive: false,
        style: { color: "#6b6b6b", weight: 1, fillColor: "#ece8dc", fillOpacity: 1 },
      }).addTo(map);
      outlined();
    });
    if (config.tiles) {
      // The credit is the operator's text, and Leaflet writes attributions as HTML: it gets a
      // span whose text is the credit, escaped by the browser.
      const credit = document.createElement("span");
      credit.textContent = config.tiles.attribution;
      L.tileLayer(config.tiles.url, { attribution: credit.outerHTML, maxZoom: MAX_ZOOM })
        .on("tileerror", () => { tilesFailed = true; showMapStatus(); })
        .on("tileload", () => { tilesFailed = false; showMapStatus(); })
        .addTo(map);
    }
    showMapStatus();
    markers = L.markerClusterGroup({ chunkedLoading: true, showCoverageOnHover: false, iconCreateFunction: clusterIcon });
    samePhotos = L.layerGroup();
    map.addLayer(markers).addLayer(samePhotos);
  }

  // The sightings a search finds (URLSearchParams, search.js); `fit`: the view moves to hold them.
  async function draw(search, fit) {
    const response = await api("GET", `/api/map?${search}`);
    if (!response.ok) return;
    const { points } = await response.json();
    markers.clearLayers();
    samePhotos.clearLayers();
    const groups = new Map();
    const layers = points.map(([id, lat, lon, triage, samePhoto]) => {
      if (samePhoto) groups.set(samePhoto, [...(groups.get(samePhoto) || []), [lat, lon]]);
      const colour = COLOURS[triage] || "#000000";
      return L.circleMarker([lat, lon], { radius: 7, color: "#ffffff", weight: 2, fillColor: colour, fillOpacity: 0.95, className: `sighting triage-${triage}` })
        .on("click", () => D.openDetail(id));
    });
    markers.addLayers(layers);
    // The same photo sent more than once: its places joined by a dashed line.
    for (const [group, at] of groups) {
      if (at.length > 1) L.polyline(at, { color: "#0d47a1", weight: 2, dashArray: "6 6", className: `same-photo same-photo-${group}` }).addTo(samePhotos);
    }
    // With no street map, not past the zoom where the country outlines still say where it is.
    const maxZoom = D.config().tiles ? 12 : CITY_ZOOM - 1;
    if (points.length && fit) map.fitBounds(points.map((p) => [p[1], p[2]]), { maxZoom, padding: [30, 30] });
  }

  // The map's pane shown again: Leaflet measures it anew.
  function shown() {
    if (map) map.invalidateSize();
  }

  // What the map shows now (`null` before it is made).
  const bounds = () => (map ? map.getBounds() : null);
  const onMove = (then) => { moved = then; };

  D.map = { init, draw, focus, highlight, applyWords, shown, countryAt, bounds, onMove };
})();
