// The console's page code: Alpine.js components that call the JSON API (/api/v1) with the
// bearer token of the API's own sign-in (kept in sessionStorage, so it ends with the tab).
// No rules live here: what is shown and which actions are offered is what the API answers.
"use strict";

const TOKEN_KEY = "gridops.console.token";
const USER_KEY = "gridops.console.user";

function text(name, values) {
  const all = Object.assign({}, window.CONSOLE.texts, window.CONSOLE.pageTexts || {},
                            window.CONSOLE.mapTexts || {});
  let message = all[name] || name;
  for (const [key, value] of Object.entries(values || {})) {
    message = message.split("{" + key + "}").join(String(value));
  }
  return message;
}

function statusWord(status) { return window.CONSOLE.words.status[status] || status; }
function actionWord(action) {
  return window.CONSOLE.words.action[action] || window.CONSOLE.words.status[action] || action;
}

function localTime(iso) {
  if (!iso) return "";
  // Command centres work in Beijing time, whatever the browser's own zone.
  return new Date(iso).toLocaleString("zh-CN", { hour12: false, timeZone: "Asia/Shanghai" });
}

// An API error in words: the API's own message, its code and the fields at fault.
class ApiError extends Error {
  constructor(status, body) {
    super((body && body.message) || ("HTTP " + status));
    this.status = status;
    this.body = body || {};
  }
  get words() {
    const parts = [this.message];
    const fields = [];
    const walk = (prefix, node) => {
      if (Array.isArray(node)) { fields.push(prefix + ": " + node.join("；")); return; }
      if (node && typeof node === "object") {
        for (const [key, value] of Object.entries(node)) walk(prefix ? prefix + "." + key : key, value);
      }
    };
    for (const location of Object.values(this.body.errors || {})) walk("", location);
    if (fields.length) parts.push(fields.join("；"));
    if (this.body.code) parts.push("（" + text("error_code") + " " + this.body.code + "）");
    return parts.join(" ");
  }
}

function errorWords(error) {
  if (error instanceof ApiError) return error.words;
  return text("network_error", { reason: error && error.message ? error.message : String(error) });
}

function signIn(next) {
  location.assign("/console/login?next=" + encodeURIComponent(next || location.pathname + location.search));
}

const api = {
  token() { return sessionStorage.getItem(TOKEN_KEY); },
  user() { try { return JSON.parse(sessionStorage.getItem(USER_KEY)); } catch (e) { return null; } },
  remember(token, user) {
    sessionStorage.setItem(TOKEN_KEY, token);
    sessionStorage.setItem(USER_KEY, JSON.stringify(user));
  },
  forget() { sessionStorage.removeItem(TOKEN_KEY); sessionStorage.removeItem(USER_KEY); },
  async call(method, path, body) {
    const headers = { "Accept": "application/json" };
    const token = this.token();
    if (token) headers["Authorization"] = "Bearer " + token;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const response = await fetch("/api/v1" + path, {
      method, headers, body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (response.status === 204) return null;
    let payload = null;
    try { payload = await response.json(); } catch (e) { payload = null; }
    if (response.status === 401 && path !== "/auth/login") {
      this.forget();
      signIn();
      throw new ApiError(401, payload || { message: text("signed_out") });
    }
    if (!response.ok) throw new ApiError(response.status, payload);
    return payload;
  },
  get(path) { return this.call("GET", path); },
  post(path, body) { return this.call("POST", path, body === undefined ? {} : body); },
  // Every page of a keyset-paginated list (bounded: a console never needs more than this).
  async all(path, maxPages) {
    const items = [];
    let cursor = null;
    for (let page = 0; page < (maxPages || 20); page++) {
      const sep = path.includes("?") ? "&" : "?";
      const answer = await this.get(path + (cursor ? sep + "cursor=" + encodeURIComponent(cursor) : ""));
      items.push(...answer.items);
      cursor = answer.next_cursor;
      if (!cursor) break;
    }
    return items;
  },
};

function requireSignIn() {
  if (!api.token()) { signIn(); return false; }
  return true;
}

function isOverdue(c, now) {
  const due = c.completion_due_at;
  return Boolean(due) && !c.completed_at && !c.closed_at && new Date(due) < (now || new Date());
}

// --- the header ---------------------------------------------------------------------------

function shell() {
  return {
    user: null,
    init() {
      if (!requireSignIn()) return;
      this.user = api.user();
    },
    async signOut() {
      try { await api.post("/auth/logout"); } catch (e) { /* signed out anyway */ }
      api.forget();
      location.assign("/console/login");
    },
  };
}

// --- sign-in --------------------------------------------------------------------------------

function loginPage() {
  return {
    username: "", password: "", error: "", busy: false,
    async submit() {
      this.busy = true;
      this.error = "";
      try {
        const answer = await api.call("POST", "/auth/login",
                                      { username: this.username, password: this.password });
        api.remember(answer.token, answer.user);
        const next = new URLSearchParams(location.search).get("next");
        location.assign(next && next.startsWith("/console") ? next : "/console/");
      } catch (error) {
        this.error = errorWords(error);
      } finally {
        this.busy = false;
      }
    },
  };
}

// --- GCJ-02: shift WGS-84 overlays onto GCJ-02 tiles with the server's offsets -------------

async function gcj02Shifter(bbox) {
  const response = await fetch("/console/gcj02-offsets?bbox=" + bbox.join(","));
  if (!response.ok) throw new Error("gcj02-offsets " + response.status);
  const l = await response.json();
  const at = (grid, i, j) => grid[Math.max(0, Math.min(l.ny - 1, j))][Math.max(0, Math.min(l.nx - 1, i))];
  // Bilinear interpolation of the lattice (within ~0.1 m of geo.crs at 0.01°).
  return (lon, lat) => {
    const fx = (lon - l.lon0) / l.step_lon, fy = (lat - l.lat0) / l.step_lat;
    const i = Math.floor(fx), j = Math.floor(fy), tx = fx - i, ty = fy - j;
    const blend = (g) => (at(g, i, j) * (1 - tx) + at(g, i + 1, j) * tx) * (1 - ty)
                       + (at(g, i, j + 1) * (1 - tx) + at(g, i + 1, j + 1) * tx) * ty;
    return [lon + blend(l.dlon), lat + blend(l.dlat)];
  };
}

function geometryBbox(features) {
  let box = [Infinity, Infinity, -Infinity, -Infinity];
  const visit = (coords) => {
    if (typeof coords[0] === "number") {
      box = [Math.min(box[0], coords[0]), Math.min(box[1], coords[1]),
             Math.max(box[2], coords[0]), Math.max(box[3], coords[1])];
      return;
    }
    coords.forEach(visit);
  };
  features.forEach((f) => f.geometry && visit(f.geometry.coordinates));
  return box;
}

// GET /tracks answers at most this many people at once (server/staff/rules.py MAX_TRACK_PEOPLE).
const TRACKS_PER_REQUEST = 100;

function beijingDayStart() {
  const day = new Intl.DateTimeFormat("en-CA", { timeZone: "Asia/Shanghai" }).format(new Date());
  return new Date(day + "T00:00:00+08:00");
}

// --- the map ------------------------------------------------------------------------------

function mapPage(tiles) {
  return {
    tiles, problems: [], summary: "", grid: null, tracksOn: false, tracks: null, tracksSummary: "", gridCases: [], gridPeople: [], gridError: "",
    cases: [], peopleByGrid: {}, map: null, shift: (lon, lat) => [lon, lat],
    async init() {
      if (!requireSignIn()) return;
      this.map = L.map("map", { preferCanvas: false, attributionControl: Boolean(tiles.url) });
      if (tiles.url) {
        L.tileLayer(tiles.url, { attribution: tiles.attribution || "", maxZoom: 19 }).addTo(this.map);
      }
      this.map.setView([39.9, 116.4], 11);
      const counts = { grids: 0, cases: 0, calls: 0, people: 0 };
      const grids = await this.layer("grids", () => api.get("/grids/export"));
      if (grids && grids.features.length && tiles.crs === "gcj02") {
        try { this.shift = await gcj02Shifter(geometryBbox(grids.features)); }
        catch (error) { this.problems.push(errorWords(error)); }
      }
      if (grids) counts.grids = this.drawGrids(grids.features);
      const cases = await this.layer("cases", () => api.all("/cases?limit=500", 4));
      if (cases) { this.cases = cases; counts.cases = this.drawCases(cases); }
      const calls = await this.layer("calls", () => api.all("/whistle-calls?limit=200", 2));
      if (calls) counts.calls = this.drawCalls(calls);
      const where = await this.layer("people", () => api.get("/whereabouts"));
      if (where) {
        counts.people = this.drawPeople(where.people);
        for (const g of where.grids) this.peopleByGrid[g.code] = g.people;
      }
      this.summary = text("summary", counts);
    },
    async layer(name, load) {
      try { return await load(); }
      catch (error) {
        this.problems.push(text("layer_failed", { layer: text(name), reason: errorWords(error) }));
        return null;
      }
    },
    latlng(lon, lat) { const [x, y] = this.shift(lon, lat); return [y, x]; },
    ring(coords) { return coords.map(([lon, lat]) => this.latlng(lon, lat)); },
    drawGrids(features) {
      const group = L.featureGroup().addTo(this.map);
      // Special grids above basic ones, so a school inside a basic grid can be clicked.
      const ordered = [...features].sort((a, b) => (a.properties.kind === "special") - (b.properties.kind === "special"));
      for (const f of ordered) {
        const kind = f.properties.kind === "special" ? "special" : "basic";
        const polygons = f.geometry.type === "Polygon" ? [f.geometry.coordinates] : f.geometry.coordinates;
        const shape = L.polygon(polygons.map((p) => p.map((r) => this.ring(r))), {
          className: "grid grid-" + kind,
          color: kind === "special" ? "#b35900" : "#1f5fa8",
          weight: kind === "special" ? 2 : 1,
          dashArray: kind === "special" ? "4 3" : null,
          fillOpacity: kind === "special" ? 0.15 : 0.06,
        });
        shape.bindTooltip(f.properties.code + " " + f.properties.name);
        shape.on("click", () => this.select(f.properties));
        shape.addTo(group);
        shape.getElement && shape.getElement() && shape.getElement().setAttribute("data-grid", f.properties.code);
      }
      if (features.length) this.map.fitBounds(group.getBounds(), { padding: [10, 10] });
      return features.length;
    },
    drawCases(cases) {
      const now = new Date();
      let drawn = 0;
      for (const c of cases) {
        if (!c.location) continue;
        const done = c.status === "completed" || c.status === "closed";
        const overdue = isOverdue(c, now);
        const cls = overdue ? "case-overdue" : done ? "case-done" : "case-open";
        const colour = overdue ? "#c62828" : done ? "#2e7d32" : "#ef8f00";
        const marker = L.circleMarker(this.latlng(c.location.lon, c.location.lat), {
          className: "case-point " + cls, radius: 6, color: "#fff", weight: 1.5,
          fillColor: colour, fillOpacity: 0.95,
        }).addTo(this.map);
        marker.bindTooltip(c.number + " " + c.title + " · " + statusWord(c.status) + (overdue ? " · " + text("overdue") : ""));
        marker.on("click", () => location.assign("/console/cases/" + c.id));
        drawn++;
      }
      return drawn;
    },
    drawCalls(calls) {
      for (const call of calls) {
        if (!call.location || call.location.lon == null) continue;
        L.circleMarker(this.latlng(call.location.lon, call.location.lat), {
          className: "whistle-point", radius: 9, color: "#6a1b9a", weight: 3, fillOpacity: 0,
        }).addTo(this.map).bindTooltip((call.address || call.description || "") + " · " + call.status);
      }
      return calls.length;
    },
    drawPeople(people) {
      for (const p of people) {
        L.circleMarker(this.latlng(p.lon, p.lat), {
          className: "staff-point", radius: 5, color: "#004d40", weight: 1, fillColor: "#26a69a", fillOpacity: 1,
        }).addTo(this.map).bindTooltip(p.user.display_name + " · " + p.unit.name + " · " + localTime(p.at));
      }
      return people.length;
    },
    // Today's tracks (Beijing day) of the staff posted in one's territory: a layer off by
    // default, loaded when first turned on (GET /postings, then GET /tracks for up to 100
    // people at a time, the API's bound).
    async toggleTracks() {
      if (!this.tracksOn) { if (this.tracks) this.tracks.remove(); return; }
      if (this.tracks) { this.tracks.addTo(this.map); return; }
      const group = L.featureGroup();
      const loaded = await this.layer("tracks", async () => {
        const postings = await api.all("/postings?status=active&limit=200", 5);
        const staff = new Map(postings.map((p) => [p.staff.id, p.staff]));
        const start = beijingDayStart().toISOString(), end = new Date().toISOString();
        const ids = [...staff.keys()];
        let drawn = 0;
        for (let i = 0; i < ids.length; i += TRACKS_PER_REQUEST) {
          const query = new URLSearchParams({ start, end });
          for (const id of ids.slice(i, i + TRACKS_PER_REQUEST)) query.append("user", id);
          const tracks = await api.get("/tracks?" + query);
          for (const track of tracks.features) {
            if (!track.geometry) continue;
            const person = staff.get(track.properties.user_id);
            L.polyline(track.geometry.coordinates.map(([lon, lat]) => this.latlng(lon, lat)), {
              className: "track-line", color: "#00796b", weight: 3, opacity: 0.85,
            }).addTo(group).bindTooltip(person.display_name + " · " + Math.round(track.properties.distance_m) + " m");
            drawn++;
          }
        }
        return { drawn, people: staff.size };
      });
      if (!loaded) { this.tracksOn = false; return; }
      this.tracks = group;
      this.tracksSummary = text("tracks_summary", { tracks: loaded.drawn, people: loaded.people });
      if (this.tracksOn) group.addTo(this.map);
    },
    gridKind(g) { return text(g.kind === "special" ? "special" : "basic") + (g.special_kind ? " · " + g.special_kind : ""); },
    async select(properties) {
      this.grid = properties;
      this.gridError = "";
      this.gridPeople = this.peopleByGrid[properties.code] || [];
      const local = this.cases.filter((c) => c.basic_grid && c.basic_grid.code === properties.code
                                          || (c.special_grids || []).includes(properties.code));
      this.gridCases = local;
      if (properties.kind !== "special") {
        try { this.gridCases = await api.all("/cases?limit=200&grid=" + encodeURIComponent(properties.code), 2); }
        catch (error) { this.gridError = errorWords(error); }
      }
    },
  };
}

// --- cases: the queue, one case, and the forms of its actions ------------------------------

// Each action the API may allow: its endpoint and the fields of its body (besides version).
const ACTION_FORMS = {
  dispatch: { path: "dispatch", fields: [["lead_unit_id", "unit"], ["cooperating_unit_ids", "units"], ["note", "text"]] },
  accept: { path: "accept", fields: [] },
  contact: { path: "contact", fields: [["note", "text", true]] },
  note: { path: "notes", fields: [["note", "text", true]] },
  complete: { path: "complete", fields: [["result", "text", true]] },
  request_return: { path: "return-request", fields: [["reason", "text", true]] },
  approve_return: { path: "return-approval", fields: [["with_fault", "bool"], ["note", "text"]] },
  refuse_return: { path: "return-refusal", fields: [["note", "text", true]] },
  escalate: { path: "escalate", fields: [["reason", "text", true]] },
  hand_down: { path: "hand-down", fields: [["community_unit_id", "unit"], ["reason", "text", true]] },
  record_review: { path: "review", fields: [["outcome", "choice:mediated,withdrawn,unresolved"], ["note", "text"]] },
  callback: { path: "callback", fields: [["resolved", "bool"], ["satisfaction", "choice:satisfied,basically_satisfied,dissatisfied"], ["comment", "text"]] },
  request_extension: { path: "extension-request", fields: [["new_due_at", "datetime"], ["reason", "text", true]] },
  decide_extension: { path: "extension-decision", fields: [["approve", "bool"], ["note", "text"]] },
  request_exemption: { path: "exemption-request", fields: [["reason", "text", true]] },
  decide_exemption: { path: "exemption-decision", fields: [["approve", "bool"], ["note", "text"]] },
};

// The catalogue item's suggestion for a dispatch, as units the dispatcher can pick from:
// "territorial" is the case's township, "department:<kind>" the department of that kind,
// "unit:<code>" that unit. Only a pre-filled choice: the API decides whether it may be sent.
function suggestedUnit(token, c, units) {
  if (!token) return null;
  const [kind, value] = token.split(":");
  if (kind === "territorial") return c.township ? c.township.id : null;
  const found = units.find((u) => (kind === "department" && u.department_kind === value)
                                || (kind === "unit" && u.code === value));
  return found ? found.id : null;
}

function actionForm(c, action, units) {
  const spec = ACTION_FORMS[action];
  const values = {};
  for (const [name, type] of spec.fields) {
    values[name] = type === "units" ? [] : type === "bool" ? false : "";
  }
  // The units the case names already are choices too, even outside the units one may list
  // (a township dispatcher lists its township's units and the departments serving it, not,
  // say, a district command centre that leads the case).
  const known = new Set(units.map((u) => u.id));
  const extra = [c.lead_unit, c.township].filter((u) => u && !known.has(u.id) && known.add(u.id));
  return { action, spec, values, units: extra.concat(units), error: "", busy: false, open: false };
}

async function prefillDispatch(form, c) {
  if (!c.category_code) return;
  try {
    const item = await api.get("/catalogue/" + encodeURIComponent(c.category_code));
    form.values.lead_unit_id = suggestedUnit(item.lead, c, form.units) || c.lead_unit && c.lead_unit.id || "";
    form.values.cooperating_unit_ids = (item.cooperating || []).map((t) => suggestedUnit(t, c, form.units))
      .filter((id) => id && id !== form.values.lead_unit_id);
  } catch (error) {
    form.error = errorWords(error);
  }
}

function actionBody(form, c) {
  const body = { version: c.version };
  for (const [name, type] of form.spec.fields) {
    let value = form.values[name];
    if (type === "datetime") value = value ? new Date(value).toISOString() : null;
    if (type.startsWith("number") && value !== "" && value !== null) value = Number(value);
    if (value !== null && value !== "") body[name] = value;
  }
  return body;
}

async function sendAction(form, c) {
  form.busy = true;
  form.error = "";
  try {
    return await api.post("/cases/" + c.id + "/" + form.spec.path, actionBody(form, c));
  } catch (error) {
    form.error = errorWords(error);
    return null;
  } finally {
    form.busy = false;
  }
}

async function loadUnits() {
  try { return await api.get("/units"); } catch (error) { return []; }
}

function queuePage() {
  return {
    filters: { status: "", needs_triage: "", overdue: "", grid: "", category: "" },
    cases: [], units: [], forms: {}, error: "", notice: "", loading: false, next: null,
    async init() {
      if (!requireSignIn()) return;
      const query = new URLSearchParams(location.search);
      for (const key of Object.keys(this.filters)) this.filters[key] = query.get(key) || "";
      this.units = await loadUnits();
      await this.load();
    },
    query() {
      const q = new URLSearchParams({ limit: "100" });
      for (const [key, value] of Object.entries(this.filters)) if (value !== "") q.set(key, value);
      return q.toString();
    },
    async load(more) {
      this.loading = true;
      this.error = "";
      try {
        const page = await api.get("/cases?" + this.query() + (more && this.next ? "&cursor=" + encodeURIComponent(this.next) : ""));
        this.cases = more ? this.cases.concat(page.items) : page.items;
        this.next = page.next_cursor;
        history.replaceState(null, "", "?" + this.query().replace(/(^|&)limit=100/, ""));
      } catch (error) {
        this.error = errorWords(error);
      } finally {
        this.loading = false;
      }
    },
    overdue(c) { return isOverdue(c); },
    async openDispatch(c) {
      const form = actionForm(c, "dispatch", this.units);
      form.open = true;
      this.forms[c.id] = form;
      await prefillDispatch(this.forms[c.id], c);
    },
    async dispatch(c) {
      const updated = await sendAction(this.forms[c.id], c);
      if (!updated) return;
      this.cases = this.cases.map((x) => (x.id === c.id ? updated : x));
      delete this.forms[c.id];
      this.notice = text("saved") + " " + updated.number + " → " + (updated.lead_unit ? updated.lead_unit.name : "");
    },
  };
}

function casePage(caseId) {
  return {
    c: null, events: [], units: [], forms: [], error: "", notice: "",
    async init() {
      if (!requireSignIn()) return;
      this.units = await loadUnits();
      await this.load();
    },
    async load() {
      try {
        this.c = await api.get("/cases/" + caseId);
        this.events = await api.get("/cases/" + caseId + "/timeline");
        this.forms = this.c.allowed_actions.filter((a) => ACTION_FORMS[a])
          .map((a) => actionForm(this.c, a, this.units));
      } catch (error) {
        this.c = null;
        this.error = errorWords(error);
      }
    },
    async toggle(form) {
      form.open = !form.open;
      if (form.open && form.action === "dispatch") await prefillDispatch(form, this.c);
    },
    async send(form) {
      const updated = await sendAction(form, this.c);
      if (!updated) return;
      this.notice = text("saved") + " " + actionWord(form.action);
      await this.load();
    },
    overdue() { return this.c && isOverdue(this.c); },
    unitName(id) { const u = this.units.find((x) => x.id === id); return u ? u.name : id; },
    eventUnits(e) {
      const names = [];
      if (e.lead_unit) names.push(e.lead_unit.name);
      for (const u of e.cooperating_units || []) if (u) names.push(u.name);
      return names.join("、");
    },
  };
}

// --- ranking: the month's 三率 and composite, bottom N flagged, trend, drill-down, XLSX ----

function thisMonth() {
  const parts = new Intl.DateTimeFormat("en-CA", { timeZone: "Asia/Shanghai", year: "numeric", month: "2-digit" })
    .formatToParts(new Date());
  return parts.find((p) => p.type === "year").value + "-" + parts.find((p) => p.type === "month").value;
}

async function download(path, filename) {
  const response = await fetch("/api/v1" + path, { headers: { Authorization: "Bearer " + api.token() } });
  if (!response.ok) {
    let body = null;
    try { body = await response.json(); } catch (e) { body = null; }
    throw new ApiError(response.status, body);
  }
  const link = document.createElement("a");
  link.href = URL.createObjectURL(await response.blob());
  link.download = filename;
  document.body.appendChild(link);
  link.click();
  link.remove();
}

function rankingPage() {
  return {
    period: thisMonth(), kind: "township", district: null, ranking: null, error: "",
    unit: null, trendError: "", explanation: null, figure: null, chart: null,
    async init() {
      if (!requireSignIn()) return;
      try {
        const units = await api.get("/units");
        this.district = units.find((u) => u.kind === "district") || null;
      } catch (error) { this.error = errorWords(error); return; }
      await this.load();
    },
    query(format) {
      return "/evaluation/rankings?" + new URLSearchParams({
        district_id: this.district ? this.district.id : "", kind: this.kind, period: this.period,
        ...(format ? { format } : {}),
      });
    },
    async load() {
      this.error = "";
      this.ranking = null;
      try {
        this.ranking = await api.get(this.query());
        const first = this.ranking.flagged[this.ranking.flagged.length - 1] || this.ranking.rows[0];
        if (first) await this.select(first);
      } catch (error) { this.error = errorWords(error); }
    },
    rate(value) { return value === null || value === undefined ? "—" : value.toFixed(1); },
    async xlsx() {
      try { await download(this.query("xlsx"), "ranking-" + this.kind + "-" + this.period + ".xlsx"); }
      catch (error) { this.error = errorWords(error); }
    },
    async select(row) {
      this.unit = row;
      this.explanation = null;
      this.trendError = "";
      try {
        const trend = await api.get("/evaluation/trend?" + new URLSearchParams(
          { unit_id: row.unit_id, last: this.period, months: "12" }));
        this.draw(trend.rows);
      } catch (error) { this.trendError = errorWords(error); }
    },
    draw(rows) {
      if (!this.chart) this.chart = echarts.init(document.getElementById("trend"));
      const series = ["response_rate", "resolution_rate", "satisfaction_rate", "composite"].map((key) => ({
        name: text(key), type: "line", connectNulls: false, data: rows.map((r) => r[key]),
      }));
      this.chart.setOption({
        animation: false, tooltip: { trigger: "axis" }, legend: { top: 0 },
        grid: { left: 40, right: 20, top: 40, bottom: 30 },
        xAxis: { type: "category", data: rows.map((r) => r.period) },
        yAxis: { type: "value", min: 0, max: 100 }, series,
      }, true);
    },
    async explain(row, figure) {
      this.figure = figure;
      this.explanation = null;
      try {
        this.explanation = await api.get("/evaluation/scores/cases?" + new URLSearchParams(
          { unit_id: row.unit_id, period: this.period, figure, limit: "100" }));
      } catch (error) { this.trendError = errorWords(error); }
    },
  };
}

// --- whistle calls board and who is where --------------------------------------------------

// The forms of a call's actions the console offers (the call's allowed_actions; the API
// decides whether this caller may: a judge accepts or rejects, the caller closes and rates).
const WHISTLE_FORMS = {
  accept: { path: "accept", fields: [["lead_department_id", "unit"], ["cooperating_department_ids", "units"],
                                     ["arrival_due_at", "datetime"], ["completion_due_at", "datetime"],
                                     // Empty: the server's default radius (GRID_WHISTLE_ARRIVAL_RADIUS_M).
                                     ["arrival_radius_m", "number:10,5000"], ["note", "text"]] },
  reject: { path: "reject", fields: [["reason", "text", true]] },
  close: { path: "close", fields: [["result", "text", true]] },
  rate: { path: "ratings", fields: [["department_id", "unit"], ["satisfaction", "choice:satisfied,basically_satisfied,dissatisfied"], ["comment", "text"]] },
};

function datetimeLocal(date) {
  // The value of a datetime-local input, in the browser's zone (as the input reads it).
  const pad = (n) => String(n).padStart(2, "0");
  return date.getFullYear() + "-" + pad(date.getMonth() + 1) + "-" + pad(date.getDate())
    + "T" + pad(date.getHours()) + ":" + pad(date.getMinutes());
}

function whistleForm(call, action, departments) {
  const form = { action: "whistle_" + action, spec: WHISTLE_FORMS[action], values: {}, units: [],
                 error: "", busy: false, open: false };
  for (const [name, type] of form.spec.fields) form.values[name] = type === "units" ? [] : "";
  const onCall = call.departments.map((d) => d.department);
  if (action === "rate") {
    // Once per named department: those not rated yet.
    form.units = call.departments.filter((d) => d.role && !d.rating).map((d) => d.department);
  } else {
    const known = new Set(onCall.map((u) => u.id));
    form.units = onCall.concat(departments.filter((u) => !known.has(u.id)));
  }
  if (action === "accept") {
    // Pre-filled from the request: the first requested department leads, the others cooperate.
    const requested = call.departments.filter((d) => d.requested).map((d) => d.department.id);
    form.values.lead_department_id = requested[0] || "";
    form.values.cooperating_department_ids = requested.slice(1);
    const now = Date.now();
    form.values.arrival_due_at = datetimeLocal(new Date(now + 2 * 3600e3));
    form.values.completion_due_at = datetimeLocal(new Date(now + 24 * 3600e3));
  }
  if (form.units.length === 1 && action === "rate") form.values.department_id = form.units[0].id;
  return form;
}

function whistlePage() {
  return {
    status: "", calls: [], error: "", notice: "", forms: {}, departments: [],
    async init() {
      if (!requireSignIn()) return;
      try { this.departments = await api.get("/units?kind=department"); } catch (error) { this.departments = []; }
      await this.load();
    },
    async load() {
      this.error = "";
      try {
        this.calls = await api.all("/whistle-calls?limit=100" + (this.status ? "&status=" + this.status : ""), 5);
        this.forms = {};
        for (const call of this.calls) {
          this.forms[call.id] = (call.allowed_actions || []).filter((a) => WHISTLE_FORMS[a])
            .filter((a) => a !== "rate" || call.departments.some((d) => d.role && !d.rating))
            .map((a) => whistleForm(call, a, this.departments));
        }
      } catch (error) { this.error = errorWords(error); }
    },
    open(call, form) {
      for (const other of this.forms[call.id]) if (other !== form) other.open = false;
      form.open = !form.open;
    },
    async send(call, form) {
      form.busy = true;
      form.error = "";
      try {
        const updated = await api.post("/whistle-calls/" + call.id + "/" + form.spec.path, actionBody(form, call));
        this.notice = text("saved") + " " + text(form.action) + " · " + updated.description;
        await this.load();
      } catch (error) {
        form.error = errorWords(error);
      } finally {
        form.busy = false;
      }
    },
    count(call, state) { return call.departments.filter((d) => d.arrival_state === state).length; },
    names(call, state) {
      return call.departments.filter((d) => state === null ? d.arrival_state === null : d.arrival_state === state)
        .map((d) => d.department.name).join("、");
    },
    rated(call) { return call.departments.filter((d) => d.rating).length + " / " + call.departments.length; },
  };
}

function localMonthRange() {
  const month = thisMonth();
  const [y, m] = month.split("-").map(Number);
  const last = new Date(Date.UTC(y, m, 0)).getUTCDate();
  return [month + "-01", month + "-" + String(last).padStart(2, "0")];
}

function whereaboutsPage() {
  const [start, end] = localMonthRange();
  return {
    where: null, report: null, start, end, error: "", reportError: "",
    async init() {
      if (!requireSignIn()) return;
      try { this.where = await api.get("/whereabouts"); } catch (error) { this.error = errorWords(error); }
      await this.loadReport();
    },
    async loadReport() {
      this.reportError = "";
      try {
        this.report = await api.get("/compliance?" + new URLSearchParams({ start: this.start, end: this.end }));
      } catch (error) { this.reportError = errorWords(error); }
    },
    pct(value) { return value === null || value === undefined ? "—" : (value * 100).toFixed(0) + "%"; },
  };
}
