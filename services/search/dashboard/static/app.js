// Radar reputation dashboard: a dependency-free ES module, served by the search service.
//
// Rules this file keeps:
// - The API key lives in sessionStorage only (never localStorage, cookies or the URL). A one-time
//   "#key=..." fragment is accepted for convenience (e.g. headless screenshots) and is moved into
//   sessionStorage and removed from the address bar before anything else runs.
// - Review text and every other API string reach the page as text nodes (textContent), never
//   through innerHTML. Search highlights are parsed by hand after checking that they hold nothing
//   but text and <mark></mark> tags; anything else falls back to plain text.
// - Nothing is logged to the console and nothing but the key is stored; fetches use no-store.

import { drawRatingTrend, drawShareOfVoice, drawTrend, seriesColour } from "./charts.js";

const KEY_STORAGE = "radar.apiKey";
const DAY_MS = 86_400_000;
const SVG_NS = "http://www.w3.org/2000/svg";
const SENTIMENTS = ["negative", "neutral", "positive"];

const PATHS = {
  mentions: "/v1/mentions",
  exportCsv: "/v1/mentions/export.csv",
  stats: "/v1/stats",
  reputation: "/v1/reputation",
  negativeTopics: "/v1/topics/negative",
  me: "/v1/me",
  alertSummary: "/v1/alerts/summary",
  replyCheck: "/v1/replies/check",
  compare: "/v1/competitors/compare",
  candidates: "/v1/testimonials/candidates",
  testimonials: "/v1/testimonials",
};

// --- the one-time #key= fragment (handled first, so the key leaves the URL at once) ------------

(function takeKeyFromFragment() {
  if (!window.location.hash.startsWith("#key=")) return;
  const key = new URLSearchParams(window.location.hash.slice(1)).get("key");
  history.replaceState(null, "", window.location.pathname + window.location.search);
  if (key && key.trim()) sessionStorage.setItem(KEY_STORAGE, key.trim());
})();

// --- state -----------------------------------------------------------------------------------------

const timeZone = (() => {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
  } catch {
    return "UTC";
  }
})();

const state = {
  days: 30,
  timeZone,
  reputationBy: "location",
  role: null, // "viewer" | "marketer" | "admin", from GET /v1/me
  tenant: null,
  wall: "candidates",
  lastTrend: null, // {stats, range, interval} kept in memory only, to redraw on resize
  search: { params: null, cursor: null },
  tokens: { overview: 0, attention: 0, reputation: 0, themes: 0, search: 0, competitors: 0, wall: 0 },
};

const $ = (id) => document.getElementById(id);

// --- small DOM helpers (text only) -------------------------------------------------------------

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  setAttrs(node, attrs);
  node.append(...children.flat(Infinity).filter((c) => c !== null && c !== undefined && c !== false).map(asNode));
  return node;
}

function svg(tag, attrs = {}, ...children) {
  const node = document.createElementNS(SVG_NS, tag);
  setAttrs(node, attrs);
  node.append(...children.flat(Infinity).filter((c) => c !== null && c !== undefined && c !== false).map(asNode));
  return node;
}

function setAttrs(node, attrs) {
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "class") node.setAttribute("class", value);
    else if (name === "text") node.textContent = value;
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? "" : String(value));
  }
}

function asNode(child) {
  return child instanceof Node ? child : document.createTextNode(String(child));
}

function replace(container, ...children) {
  container.replaceChildren(...children.flat(Infinity).filter(Boolean).map(asNode));
}

let idCounter = 0;
const uid = (prefix) => `${prefix}-${++idCounter}`;

// --- formatting ------------------------------------------------------------------------------------

const intFormat = new Intl.NumberFormat(undefined);
const oneDecimal = new Intl.NumberFormat(undefined, { minimumFractionDigits: 1, maximumFractionDigits: 1 });
const twoDecimals = new Intl.NumberFormat(undefined, { minimumFractionDigits: 2, maximumFractionDigits: 2 });
const percentFormat = new Intl.NumberFormat(undefined, { style: "percent", maximumFractionDigits: 0 });

function formatDate(iso, options = { dateStyle: "medium" }) {
  if (!iso) return "no date";
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return "no date";
  return new Intl.DateTimeFormat(undefined, { ...options, timeZone: state.timeZone }).format(date);
}

function relativeDays(iso) {
  if (!iso) return "";
  const days = Math.round((Date.parse(iso) - Date.now()) / DAY_MS);
  if (!Number.isFinite(days)) return "";
  return new Intl.RelativeTimeFormat(undefined, { numeric: "auto" }).format(days, "day");
}

const SOURCE_NAMES = {
  google: "Google",
  yelp: "Yelp",
  healthgrades: "Healthgrades",
  ratemds: "RateMDs",
  vitals: "Vitals",
  zocdoc: "Zocdoc",
  facebook: "Facebook",
  reddit: "Reddit",
  twitter: "X (Twitter)",
  x: "X",
  webmd: "WebMD",
  bing: "Bing",
  "apple-maps": "Apple Maps",
  survey: "Survey",
};

function humanise(slug) {
  if (!slug) return "Unspecified";
  return String(slug)
    .split(/[-_]+/)
    .filter(Boolean)
    .map((word) => word.charAt(0).toUpperCase() + word.slice(1))
    .join(" ");
}

const sourceName = (slug) => SOURCE_NAMES[slug] || humanise(slug);

function sentimentName(label) {
  return label ? label.charAt(0).toUpperCase() + label.slice(1) : "Not read";
}

// --- API -------------------------------------------------------------------------------------------

class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

function apiKey() {
  return sessionStorage.getItem(KEY_STORAGE);
}

// Reads sign out on 401 and 403 (the key cannot read this practice); an action refused with 403
// only says that this key's role may not do it.
async function request(path, params, { method = "GET", body = undefined } = {}) {
  const key = apiKey();
  if (!key) throw new ApiError(401, "unauthenticated", "You are signed out.");
  const query = params && params.toString();
  const headers = { Authorization: `Bearer ${key}`, Accept: "application/json, text/csv" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(query ? `${path}?${query}` : path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: "no-store",
      credentials: "omit",
      referrerPolicy: "no-referrer",
    });
  } catch {
    throw new ApiError(0, "network", "The server could not be reached. Check the connection and retry.");
  }
  if (!response.ok) {
    const error = await errorFrom(response, method !== "GET");
    if (error.status === 401 || (error.status === 403 && method === "GET")) signOut(error.message);
    throw error;
  }
  return response;
}

async function postJson(path, body = {}) {
  const response = await request(path, null, { method: "POST", body });
  return response.json();
}

async function errorFrom(response, isAction = false) {
  let body = null;
  try {
    body = (await response.json()).error;
  } catch {
    body = null;
  }
  const status = response.status;
  const code = (body && body.code) || "error";
  const requestId = body && body.request_id ? ` (request ${body.request_id})` : "";
  const messages = {
    401: "Your API key was not accepted (401). Sign in again with a valid key.",
    403: "This API key is not allowed to read this practice's data (403). Ask an administrator for a viewer key.",
    429: "Too many requests; wait a moment and retry.",
    503: "The search engine is unavailable right now; retry in a moment.",
  };
  if (isAction && status === 403) messages[403] = "This API key's role may not do that; a marketer or admin key can.";
  let message = messages[status];
  if (!message && (status === 409 || status === 422) && body && body.message) message = `${body.message}.`;
  if (!message && status === 400) message = `The request was refused: ${(body && body.message) || "invalid parameters"}.`;
  if (!message) message = `Something went wrong (HTTP ${status})${requestId}.`;
  const error = new ApiError(status, code, message);
  error.details = (body && body.details) || [];
  return error;
}

async function getJson(path, params) {
  const response = await request(path, params);
  return response.json();
}

function buildParams(entries) {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(entries)) {
    if (value === null || value === undefined || value === "") continue;
    params.set(name, value instanceof Date ? value.toISOString() : String(value));
  }
  return params;
}

async function getStats(filters) {
  const params = buildParams({ ...filters, time_zone: state.timeZone });
  try {
    return await getJson(PATHS.stats, params);
  } catch (error) {
    // A browser zone the server does not know: fall back to UTC once, and say so in the footer.
    if (error.status === 400 && state.timeZone !== "UTC" && (error.details || []).some((d) => d.field === "time_zone")) {
      state.timeZone = "UTC";
      $("tz").textContent = "UTC";
      return getJson(PATHS.stats, buildParams({ ...filters, time_zone: "UTC" }));
    }
    throw error;
  }
}

// --- loading and error states -----------------------------------------------------------------------

function showLoading(container, label = "Loading") {
  container.setAttribute("aria-busy", "true");
  replace(
    container,
    el("div", { class: "loading", role: "status" }, el("span", { class: "spinner", "aria-hidden": "true" }), `${label}…`),
  );
}

function showError(container, error, retry) {
  container.setAttribute("aria-busy", "false");
  replace(
    container,
    el(
      "div",
      { class: "message message-error", role: "alert" },
      el("span", { text: error.message || "Something went wrong." }),
      retry && error.status !== 401 ? el("button", { type: "button", class: "btn btn-small", onclick: retry }, "Retry") : null,
    ),
  );
}

function done(container) {
  container.setAttribute("aria-busy", "false");
}

// --- periods ----------------------------------------------------------------------------------------

function periodRanges(days) {
  const to = new Date();
  const from = new Date(to.getTime() - days * DAY_MS);
  const previousTo = new Date(from.getTime() - 1);
  const previousFrom = new Date(from.getTime() - days * DAY_MS);
  return { current: { from, to }, previous: { from: previousFrom, to: previousTo } };
}

const intervalFor = (days) => (days > 31 ? "week" : "day");

// Local calendar dates (YYYY-MM-DD in the chosen zone) of every bucket the range touches, so
// that days without mentions still show (the engine only fills gaps between non-empty buckets).
function bucketKeys(range, interval) {
  const dayOf = new Intl.DateTimeFormat("en-CA", {
    timeZone: state.timeZone,
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
  });
  const keys = [];
  const seen = new Set();
  for (let t = range.from.getTime(); t <= range.to.getTime() + 1; t += 6 * 3_600_000) {
    let key = dayOf.format(new Date(t));
    if (interval === "week") key = mondayOf(key);
    if (!seen.has(key)) {
      seen.add(key);
      keys.push(key);
    }
  }
  const last = interval === "week" ? mondayOf(dayOf.format(range.to)) : dayOf.format(range.to);
  if (!seen.has(last)) keys.push(last);
  return keys;
}

function mondayOf(isoDate) {
  const date = new Date(`${isoDate}T00:00:00Z`);
  date.setUTCDate(date.getUTCDate() - ((date.getUTCDay() + 6) % 7));
  return date.toISOString().slice(0, 10);
}

function labelFor(isoDate, options) {
  // isoDate is a civil date; format it as such (in UTC, so no zone shifts it).
  return new Intl.DateTimeFormat(undefined, { ...options, timeZone: "UTC" }).format(new Date(`${isoDate}T12:00:00Z`));
}

// The average rating per bucket, over a trailing window, weighted by the
// number of rated mentions in each bucket (`span` buckets: 7 days, or 1 week).
function ratingLine(rated, ratedRange, interval, keys, span) {
  const byKey = new Map((rated.histogram || []).map((b) => [String(b.start).slice(0, 10), b]));
  const all = bucketKeys(ratedRange, interval);
  return keys.map((key) => {
    const end = all.indexOf(key);
    if (end < 0) return null;
    let sum = 0;
    let count = 0;
    for (const k of all.slice(Math.max(0, end - span + 1), end + 1)) {
      const b = byKey.get(k);
      if (b && b.count && b.average_rating != null) {
        sum += b.average_rating * b.count;
        count += b.count;
      }
    }
    return count ? sum / count : null;
  });
}

function completeHistogram(stats, range, interval) {
  const byKey = new Map((stats.histogram || []).map((b) => [String(b.start).slice(0, 10), b]));
  return bucketKeys(range, interval).map((key) => {
    const bucket = byKey.get(key) || { count: 0, average_rating: null, by_sentiment: {} };
    const counts = Object.fromEntries(SENTIMENTS.map((s) => [s, (bucket.by_sentiment || {})[s] || 0]));
    const labelled = SENTIMENTS.reduce((sum, s) => sum + counts[s], 0);
    return { key, count: bucket.count, average: bucket.average_rating, counts, unread: Math.max(0, bucket.count - labelled) };
  });
}

// --- overview: figures, chart, sources ------------------------------------------------------------

function sentimentCount(stats, label) {
  const bucket = (stats.by_sentiment || []).find((b) => b.key === label);
  return bucket ? bucket.count : 0;
}

function unreadCount(stats) {
  const labelled = (stats.by_sentiment || []).reduce((sum, b) => sum + b.count, 0);
  return Math.max(0, stats.total - labelled);
}

async function loadOverview() {
  const token = ++state.tokens.overview;
  const days = state.days;
  const ranges = periodRanges(days);
  const interval = intervalFor(days);
  $("period-caption").textContent =
    `Last ${days} days: ${formatDate(ranges.current.from.toISOString())} – ${formatDate(ranges.current.to.toISOString())}`;
  for (const id of ["kpi-total", "kpi-rating", "kpi-negative"]) $(id).classList.add("is-loading");
  $("stats-error").hidden = true;
  showLoading($("trend-chart"));
  showLoading($("sources"));
  try {
    // The rating line: rated mentions only, per day with a trailing 7-day window (so one review
    // does not swing it), per week as is. The window needs the 6 days before the period too.
    const ratedRange = { from: new Date(ranges.current.from.getTime() - (interval === "day" ? 6 * DAY_MS : 0)), to: ranges.current.to };
    const [current, previous, rated] = await Promise.all([
      getStats({ interval, date_from: ranges.current.from, date_to: ranges.current.to }),
      getStats({ interval: "month", date_from: ranges.previous.from, date_to: ranges.previous.to }),
      getStats({ interval, date_from: ratedRange.from, date_to: ratedRange.to, rating_min: 1 }),
    ]);
    if (token !== state.tokens.overview) return;
    renderKpis(current, previous, days);
    state.lastTrend = { stats: current, rated, ratedRange, range: ranges.current, interval, days };
    renderTrend();
    renderSources(current);
  } catch (error) {
    if (token !== state.tokens.overview) return;
    for (const id of ["kpi-total", "kpi-rating", "kpi-negative"]) {
      $(id).classList.remove("is-loading");
      $(id).querySelector("[data-value]").textContent = "–";
      $(id).querySelector("[data-change]").textContent = "";
    }
    const box = $("stats-error");
    box.hidden = false;
    replace(box, el("span", { text: error.message }), " ", el("button", { type: "button", class: "btn btn-small", onclick: loadOverview }, "Retry"));
    showError($("trend-chart"), error);
    showError($("sources"), error);
  }
}

function renderKpis(current, previous, days) {
  const since = `the previous ${days} days`;

  const total = $("kpi-total");
  setKpi(total, intFormat.format(current.total), change(current.total, previous.total, {
    kind: "percent",
    since,
    goodWhen: null,
  }));

  const rating = $("kpi-rating");
  setKpi(
    rating,
    current.average_rating == null ? "–" : [oneDecimal.format(current.average_rating), el("span", { class: "kpi-unit" }, " / 5")],
    current.average_rating == null
      ? el("span", { class: "muted" }, "No ratings in this period")
      : change(current.average_rating, previous.average_rating, { kind: "points", since, goodWhen: "up", digits: 1 }),
  );

  const negative = $("kpi-negative");
  const share = current.total ? sentimentCount(current, "negative") / current.total : null;
  const previousShare = previous.total ? sentimentCount(previous, "negative") / previous.total : null;
  setKpi(
    negative,
    share == null ? "–" : percentFormat.format(share),
    share == null
      ? el("span", { class: "muted" }, "No mentions in this period")
      : change(share * 100, previousShare == null ? null : previousShare * 100, { kind: "pts", since, goodWhen: "down" }),
  );
  negative.querySelector("[data-value]").classList.toggle("is-negative", share != null && share >= 0.25);
}

function setKpi(card, value, changeNode) {
  card.classList.remove("is-loading");
  replace(card.querySelector("[data-value]"), value);
  replace(card.querySelector("[data-change]"), changeNode);
}

function change(now, before, { kind, since, goodWhen, digits = 0 }) {
  if (before == null || (kind === "percent" && before === 0)) {
    return el("span", { class: "muted" }, `Nothing to compare with in ${since}`);
  }
  const delta = kind === "percent" ? (now - before) / before : now - before;
  const rounded = kind === "percent" ? Math.round(delta * 100) : Number(delta.toFixed(digits));
  const direction = rounded > 0 ? "up" : rounded < 0 ? "down" : "flat";
  let amount;
  if (kind === "percent") amount = `${Math.abs(rounded)}%`;
  else if (kind === "pts") amount = `${Math.abs(rounded)} pts`;
  else amount = Math.abs(delta).toFixed(digits);
  const tone = direction === "flat" || !goodWhen ? "neutral" : direction === goodWhen ? "better" : "worse";
  const arrow = direction === "up" ? "▲" : direction === "down" ? "▼" : "■";
  const words = direction === "flat" ? "No change" : `${direction === "up" ? "Up" : "Down"} ${amount}`;
  const beforeText = kind === "percent" ? intFormat.format(before) : kind === "pts" ? `${Math.round(before)}%` : before.toFixed(digits);
  return el(
    "span",
    { class: `delta delta-${tone}` },
    el("span", { class: "delta-arrow", "aria-hidden": "true" }, arrow),
    ` ${words} `,
    el("span", { class: "muted" }, `vs ${since} (${beforeText})`),
  );
}

// Stacked sentiment bars per bucket with the (smoothed) average-rating line, drawn by Chart.js.
function renderTrend() {
  const container = $("trend-chart");
  const trend = state.lastTrend;
  if (!trend) return;
  const buckets = completeHistogram(trend.stats, trend.range, trend.interval);
  const span = trend.interval === "day" ? 7 : 1;
  const line = ratingLine(trend.rated, trend.ratedRange, trend.interval, buckets.map((b) => b.key), span);
  const lineName = span > 1 ? "7-day average rating" : "Average rating";
  $("legend-line").textContent = lineName;
  const unit = trend.interval === "week" ? "week" : "day";
  const labelOptions = { month: "short", day: "numeric" };
  const totals = Object.fromEntries(SENTIMENTS.map((s) => [s, buckets.reduce((sum, b) => sum + b.counts[s], 0)]));
  const unread = buckets.reduce((sum, b) => sum + b.unread, 0);
  const busiest = buckets.reduce((best, b) => (b.count > best.count ? b : best), buckets[0]);
  const description =
    `Mentions per ${unit} by sentiment, with the ${lineName.toLowerCase()}. ` +
    `${intFormat.format(trend.stats.total)} mentions in the last ${trend.days} days: ` +
    `${totals.negative} negative, ${totals.neutral} neutral, ${totals.positive} positive` +
    (unread ? `, ${unread} not read by the model` : "") +
    (busiest && busiest.count ? `. Busiest ${unit}: ${labelFor(busiest.key, labelOptions)} with ${busiest.count}.` : ".");
  try {
    drawTrend(container, {
      labels: buckets.map((b) => labelFor(b.key, labelOptions)),
      counts: {
        negative: buckets.map((b) => b.counts.negative),
        neutral: buckets.map((b) => b.counts.neutral),
        positive: buckets.map((b) => b.counts.positive),
        unread: buckets.map((b) => b.unread),
      },
      line: line.map((v) => (v == null ? null : Math.round(v * 100) / 100)),
      lineName,
      description,
    });
  } catch (error) {
    showError(container, error);
    return;
  }
  container.setAttribute("aria-busy", "false");
  $("legend-unread").hidden = unread === 0;
  renderTrendTable(buckets, unit, line, lineName);
}

function renderTrendTable(buckets, unit, line, lineName) {
  const smoothedColumn = lineName !== "Average rating";
  const table = el(
    "table",
    { class: "table table-compact" },
    el("caption", { class: "visually-hidden" }, `Mentions per ${unit}`),
    el(
      "thead",
      {},
      el(
        "tr",
        {},
        el("th", { scope: "col" }, unit === "week" ? "Week of" : "Day"),
        el("th", { scope: "col", class: "num" }, "Mentions"),
        el("th", { scope: "col", class: "num" }, "Negative"),
        el("th", { scope: "col", class: "num" }, "Neutral"),
        el("th", { scope: "col", class: "num" }, "Positive"),
        el("th", { scope: "col", class: "num" }, "Avg rating"),
        smoothedColumn ? el("th", { scope: "col", class: "num" }, "7-day avg") : null,
      ),
    ),
    el(
      "tbody",
      {},
      buckets.map((b, i) => [b, line[i]]).reverse().map(([b, smoothed]) =>
        el(
          "tr",
          {},
          el("th", { scope: "row" }, labelFor(b.key, { weekday: "short", month: "short", day: "numeric" })),
          el("td", { class: "num" }, intFormat.format(b.count)),
          el("td", { class: "num" }, b.counts.negative),
          el("td", { class: "num" }, b.counts.neutral),
          el("td", { class: "num" }, b.counts.positive),
          el("td", { class: "num" }, b.average == null ? "–" : oneDecimal.format(b.average)),
          smoothedColumn ? el("td", { class: "num" }, smoothed == null ? "–" : oneDecimal.format(smoothed)) : null,
        ),
      ),
    ),
  );
  replace($("trend-table"), table);
}

function bar(fraction, tone) {
  const clamped = Math.max(0, Math.min(1, fraction || 0));
  return svg(
    "svg",
    { class: "minibar", viewBox: "0 0 100 8", preserveAspectRatio: "none", "aria-hidden": "true", focusable: "false" },
    svg("rect", { x: 0, y: 0, width: 100, height: 8, rx: 2, class: "minibar-track" }),
    svg("rect", { x: 0, y: 0, width: (clamped * 100).toFixed(2), height: 8, rx: 2, class: `minibar-fill minibar-${tone}` }),
  );
}

function renderSources(stats) {
  const container = $("sources");
  done(container);
  const rows = stats.by_source || [];
  if (!rows.length) {
    replace(container, el("p", { class: "empty" }, "No mentions in this period."));
    return;
  }
  const table = el(
    "table",
    { class: "table" },
    el("caption", { class: "visually-hidden" }, `Mentions by source, last ${state.days} days`),
    el(
      "thead",
      {},
      el(
        "tr",
        {},
        el("th", { scope: "col" }, "Source"),
        el("th", { scope: "col", class: "num" }, "Mentions"),
        el("th", { scope: "col", class: "num" }, "Share"),
        el("th", { scope: "col", class: "bar-col" }, el("span", { class: "visually-hidden" }, "Share bar")),
      ),
    ),
    el(
      "tbody",
      {},
      rows.map((row) => {
        const share = stats.total ? row.count / stats.total : 0;
        return el(
          "tr",
          {},
          el("th", { scope: "row" }, sourceName(row.key)),
          el("td", { class: "num" }, intFormat.format(row.count)),
          el("td", { class: "num" }, percentFormat.format(share)),
          el("td", { class: "bar-col" }, bar(share, "accent")),
        );
      }),
    ),
  );
  replace(container, el("div", { class: "table-scroll" }, table));
}

// --- needs attention -------------------------------------------------------------------------------

async function loadAttention() {
  const token = ++state.tokens.attention;
  const container = $("attention");
  showLoading(container);
  const { current } = periodRanges(state.days);
  try {
    const [negative, recent] = await Promise.all([
      getJson(PATHS.mentions, buildParams({ sentiment: "negative", sort: "date", order: "desc", size: 5 })),
      getJson(PATHS.mentions, buildParams({ sort: "date", order: "desc", size: 100, date_from: current.from })),
    ]);
    if (token !== state.tokens.attention) return;
    const unread = recent.items.filter((m) => !m.sentiment || m.sentiment.label == null).slice(0, 3);
    done(container);
    const children = [];
    if (!negative.items.length && !unread.length) {
      children.push(el("p", { class: "empty" }, "Nothing needs attention: no negative mentions so far."));
    }
    if (negative.items.length) {
      children.push(
        el("h3", { class: "subhead" }, "Newest negative", el("span", { class: "count" }, ` ${intFormat.format(negative.total)} in all`)),
        el(
          "ol",
          { class: "mentions" },
          negative.items.map((m) => el("li", {}, mentionCard(m, { compact: true }), canCurate() ? replyBox(m) : null)),
        ),
      );
    }
    if (unread.length) {
      children.push(
        el("h3", { class: "subhead" }, "Needs review", el("span", { class: "count" }, ` the model could not read these`)),
        el("ol", { class: "mentions" }, unread.map((m) => el("li", {}, mentionCard(m, { compact: true })))),
      );
    }
    replace(container, children);
  } catch (error) {
    if (token !== state.tokens.attention) return;
    showError(container, error, loadAttention);
  }
}

// --- the reply box: a draft is checked for patient information before anyone posts it ------------------

const FINDING_NAMES = {
  patient_confirmation: "Confirms they are a patient",
  clinical_detail: "Clinical detail",
  appointment_detail: "Appointment detail",
  financial_detail: "Billing or insurance detail",
  naming: "Names someone",
  public_discussion: "Offers to discuss the case publicly",
  phi: "Identifier",
};

function replyBox(mention) {
  const id = uid("reply");
  const textarea = el("textarea", { id, rows: 4, maxlength: 5000, class: "reply-text", spellcheck: "true" });
  const result = el("div", { class: "reply-result", "aria-live": "polite" });
  const button = el("button", { type: "button", class: "btn btn-small btn-primary" }, "Check before posting");
  button.addEventListener("click", async () => {
    const reply = textarea.value.trim();
    if (!reply) {
      replace(result, el("p", { class: "message message-error" }, "Write the reply first."));
      return;
    }
    button.disabled = true;
    replace(result, el("p", { class: "muted small" }, "Checking…"));
    try {
      const check = await postJson(PATHS.replyCheck, {
        reply,
        review: mention.text || null,
        reviewer_display_name: mention.author || null,
      });
      replace(result, replyResult(check, textarea));
    } catch (error) {
      replace(result, el("p", { class: "message message-error" }, error.message));
    } finally {
      button.disabled = false;
    }
  });
  return el(
    "details",
    { class: "reply-box" },
    el("summary", {}, "Draft a reply"),
    el("label", { for: id, class: "small muted" }, "Your public reply (checked here, posted by you on the review site)"),
    textarea,
    el("div", { class: "reply-actions" }, button),
    result,
  );
}

function replyResult(check, textarea) {
  if (check.safe) {
    return el("p", { class: "reply-safe" }, "Nothing found that discloses patient information. You can post it.");
  }
  const useSuggestion = el("button", { type: "button", class: "btn btn-small" }, "Use this version");
  useSuggestion.addEventListener("click", () => {
    textarea.value = check.suggestion;
    textarea.focus();
  });
  return el(
    "div",
    { class: "reply-unsafe" },
    el("p", { class: "message message-error" }, "Do not post this: it could disclose patient information (HIPAA)."),
    el(
      "ul",
      { class: "reply-findings" },
      check.findings.map((f) =>
        el("li", {}, el("strong", {}, FINDING_NAMES[f.type] || humanise(f.type)), ` “${f.text}”: ${f.explanation}`),
      ),
    ),
    el("p", { class: "small muted" }, "A safer version:"),
    el("blockquote", { class: "reply-suggestion" }, check.suggestion),
    useSuggestion,
  );
}

// --- one mention -----------------------------------------------------------------------------------

const SAFE_HIGHLIGHT = /^(?:[^<>]|<mark>|<\/mark>)*$/;
const ENTITIES = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'", nbsp: "\u00a0" };

function decodeEntities(text) {
  return text.replace(/&(#x[0-9a-f]{1,6}|#[0-9]{1,7}|[a-z]{2,6});/gi, (match, entity) => {
    if (entity[0] === "#") {
      const code = entity[1] === "x" || entity[1] === "X" ? parseInt(entity.slice(2), 16) : parseInt(entity.slice(1), 10);
      return code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : match;
    }
    return ENTITIES[entity.toLowerCase()] ?? match;
  });
}

// The engine escapes the text and wraps matches in <mark>. Accept exactly that shape and build
// the nodes ourselves; return null (plain text is shown instead) for anything else.
function highlightNodes(fragment) {
  if (typeof fragment !== "string" || !SAFE_HIGHLIGHT.test(fragment)) return null;
  const out = document.createDocumentFragment();
  let mark = null;
  for (const part of fragment.split(/(<mark>|<\/mark>)/)) {
    if (part === "<mark>") {
      if (mark) return null;
      mark = document.createElement("mark");
      out.append(mark);
    } else if (part === "</mark>") {
      if (!mark) return null;
      mark = null;
    } else if (part) {
      (mark || out).append(document.createTextNode(decodeEntities(part)));
    }
  }
  return mark ? null : out;
}

function safeUrl(url) {
  if (!url) return null;
  try {
    const parsed = new URL(url);
    return parsed.protocol === "https:" || parsed.protocol === "http:" ? parsed.href : null;
  } catch {
    return null;
  }
}

function stars(rating) {
  if (rating == null) return el("span", { class: "stars stars-none" }, "No rating");
  const rounded = Math.round(rating);
  return el(
    "span",
    { class: `stars stars-${rounded <= 2 ? "low" : rounded === 3 ? "mid" : "high"}`, role: "img", "aria-label": `Rated ${rating} out of 5` },
    el("span", { "aria-hidden": "true" }, "★".repeat(rounded)),
    el("span", { class: "stars-off", "aria-hidden": "true" }, "★".repeat(Math.max(0, 5 - rounded))),
  );
}

const TEXT_PREVIEW = 320;

function mentionText(mention, compact) {
  const text = mention.text || "";
  const highlights = (mention.highlights || []).map(highlightNodes);
  if (highlights.length && highlights.every(Boolean)) {
    // Snippets are fragments of the text: mark where text was left out.
    const gap = () => el("span", { class: "ellipsis", "aria-hidden": "true" }, "…");
    const first = highlights[0].textContent.trim();
    const last = highlights[highlights.length - 1].textContent.trim();
    return el(
      "p",
      { class: "mention-text mention-snippets" },
      text.trimStart().startsWith(first) ? null : [gap(), " "],
      highlights.map((nodes, i) => [i ? [" ", gap(), " "] : null, nodes]),
      text.trimEnd().endsWith(last) ? null : [" ", gap()],
    );
  }
  if (!text) return el("p", { class: "mention-text muted" }, "(rating only, no text)");
  const limit = compact ? 240 : TEXT_PREVIEW;
  if (text.length <= limit) return el("p", { class: "mention-text" }, text);
  const cut = text.slice(0, text.lastIndexOf(" ", limit) > limit * 0.6 ? text.lastIndexOf(" ", limit) : limit);
  const paragraph = el("p", { class: "mention-text" }, `${cut}…`);
  const toggle = el("button", { type: "button", class: "link-btn", "aria-expanded": "false" }, "Show all");
  toggle.addEventListener("click", () => {
    const expanded = toggle.getAttribute("aria-expanded") === "true";
    paragraph.textContent = expanded ? `${cut}…` : text;
    toggle.setAttribute("aria-expanded", String(!expanded));
    toggle.textContent = expanded ? "Show all" : "Show less";
  });
  return el("div", {}, paragraph, toggle);
}

function mentionCard(mention, { compact = false } = {}) {
  const sentiment = mention.sentiment || {};
  const label = sentiment.label || null;
  const flags = sentiment.flags || [];
  const url = safeUrl(mention.url);
  const when = mention.published_at;
  const meta = [
    el("span", { class: "meta-item meta-source" }, sourceName(mention.source)),
    mention.location ? el("span", { class: "meta-item" }, humanise(mention.location)) : null,
    mention.provider ? el("span", { class: "meta-item" }, humanise(mention.provider)) : null,
  ];
  const time = when
    ? el(
        "time",
        { class: "mention-time", datetime: when, title: formatDate(when, { dateStyle: "full", timeStyle: "short" }) },
        compact ? `${formatDate(when)} · ${relativeDays(when)}` : formatDate(when),
      )
    : el("span", { class: "mention-time" }, "no date");
  return el(
    "article",
    { class: `mention mention-${label || "unread"}` },
    el(
      "div",
      { class: "mention-head" },
      el("span", { class: `badge badge-${label || "review"}` }, label ? sentimentName(label) : "Needs review"),
      stars(mention.rating),
      el("span", { class: "meta" }, meta),
      time,
    ),
    mentionText(mention, compact),
    el(
      "div",
      { class: "mention-foot" },
      el(
        "span",
        { class: "mention-foot-info" },
        mention.author ? el("span", { class: "author" }, `— ${mention.author}`) : null,
        !label && flags.length
          ? el("span", { class: "flags" }, `Not read by the model: ${flags.map((f) => humanise(f).toLowerCase()).join(", ")}`)
          : null,
      ),
      url
        ? el(
            "a",
            { href: url, target: "_blank", rel: "noopener noreferrer", class: "external" },
            `View on ${sourceName(mention.source)}`,
            el("span", { class: "visually-hidden" }, " (opens in a new tab)"),
            el("span", { "aria-hidden": "true" }, " ↗"),
          )
        : null,
    ),
  );
}

// --- complaint themes ----------------------------------------------------------------------------

const TOPIC_NAMES = {
  front_desk_staff: "Front desk and staff",
  scheduling_access: "Scheduling and access",
  waiting_time: "Waiting time",
  billing_insurance: "Billing and insurance",
  technologist: "Technologist",
  facility_equipment: "Facility and equipment",
  results_report: "Results and report",
  radiologist_communication: "Radiologist communication",
  pain_comfort: "Pain and comfort",
};

async function loadThemes() {
  const token = ++state.tokens.themes;
  const container = $("themes");
  const days = state.days;
  showLoading(container);
  try {
    const body = await getJson(PATHS.negativeTopics, buildParams({ days }));
    if (token !== state.tokens.themes) return;
    done(container);
    const rows = (body.topics || []).filter((t) => t.negative || t.negative_previous).slice(0, 6);
    $("themes-caption").textContent = `Topics of negative mentions in the last ${days} days, against the ${days} days before.`;
    if (!rows.length) {
      replace(container, el("p", { class: "empty" }, "No negative mentions in this period."));
      return;
    }
    const most = Math.max(1, ...rows.map((t) => t.negative));
    const table = el(
      "table",
      { class: "table" },
      el("caption", { class: "visually-hidden" }, `Topics of negative mentions, last ${days} days`),
      el(
        "thead",
        {},
        el(
          "tr",
          {},
          el("th", { scope: "col" }, "Theme"),
          el("th", { scope: "col", class: "num" }, "Negative"),
          el("th", { scope: "col", class: "bar-col" }, el("span", { class: "visually-hidden" }, "Bar")),
          el("th", { scope: "col", class: "num" }, "Change"),
        ),
      ),
      el(
        "tbody",
        {},
        rows.map((t) => {
          const tone = t.change > 0 ? "worse" : t.change < 0 ? "better" : "neutral";
          const arrow = t.change > 0 ? "▲" : t.change < 0 ? "▼" : "";
          return el(
            "tr",
            {},
            el("th", { scope: "row" }, TOPIC_NAMES[t.topic] || humanise(t.topic)),
            el("td", { class: "num strong" }, intFormat.format(t.negative)),
            el("td", { class: "bar-col" }, bar(t.negative / most, "negative")),
            el(
              "td",
              { class: `num delta delta-${tone}`, title: `${t.negative_previous} in the ${days} days before` },
              t.change
                ? [el("span", { class: "delta-arrow", "aria-hidden": "true" }, arrow), ` ${t.change > 0 ? "+" : "−"}${Math.abs(t.change)}`]
                : el("span", { class: "muted" }, "same"),
            ),
          );
        }),
      ),
    );
    replace(container, el("div", { class: "table-scroll" }, table));
  } catch (error) {
    if (token !== state.tokens.themes) return;
    showError(container, error, loadThemes);
  }
}

// --- reputation ------------------------------------------------------------------------------------

async function loadReputation() {
  const token = ++state.tokens.reputation;
  const container = $("reputation");
  const by = state.reputationBy;
  for (const button of document.querySelectorAll(".toggle-btn")) {
    button.setAttribute("aria-pressed", String(button.dataset.by === by));
  }
  showLoading(container);
  try {
    const body = await getJson(PATHS.reputation, buildParams({ by }));
    if (token !== state.tokens.reputation) return;
    done(container);
    const scores = body.scores || [];
    if (!scores.length) {
      replace(container, el("p", { class: "empty" }, by === "provider" ? "No rated mentions name a provider yet." : "No rated mentions yet."));
      return;
    }
    const noun = by === "provider" ? "Provider" : "Location";
    const table = el(
      "table",
      { class: "table" },
      el("caption", { class: "visually-hidden" }, `Reputation score by ${by}`),
      el(
        "thead",
        {},
        el(
          "tr",
          {},
          el("th", { scope: "col" }, noun),
          el("th", { scope: "col", class: "num" }, "Score"),
          el("th", { scope: "col", class: "bar-col" }, el("span", { class: "visually-hidden" }, "Score bar (1 to 5)")),
          el("th", { scope: "col", class: "num" }, "Reviews"),
          el("th", { scope: "col", class: "num" }, "Raw avg"),
        ),
      ),
      el(
        "tbody",
        {},
        scores.map((s) =>
          el(
            "tr",
            {},
            el("th", { scope: "row" }, humanise(s.key)),
            el("td", { class: "num strong" }, twoDecimals.format(s.score)),
            el("td", { class: "bar-col" }, bar((s.score - 1) / 4, s.score >= 4 ? "positive" : s.score < 3 ? "negative" : "neutral")),
            el("td", { class: "num" }, intFormat.format(s.reviews)),
            el("td", { class: "num" }, s.raw_average == null ? "–" : twoDecimals.format(s.raw_average)),
          ),
        ),
      ),
    );
    replace(container, el("div", { class: "table-scroll" }, table));
  } catch (error) {
    if (token !== state.tokens.reputation) return;
    showError(container, error, loadReputation);
  }
}

// --- filter options --------------------------------------------------------------------------------

async function loadFilterOptions() {
  try {
    const stats = await getStats({ interval: "month" });
    fillSelect($("f-source"), (stats.by_source || []).map((b) => [b.key, sourceName(b.key)]));
    fillSelect($("f-location"), (stats.by_location || []).map((b) => [b.key, humanise(b.key)]));
  } catch {
    // the selects keep "Any"; the panels show the error
  }
}

function fillSelect(select, options) {
  const chosen = select.value;
  const sorted = [...options].sort((a, b) => a[1].localeCompare(b[1]));
  replace(select, el("option", { value: "" }, "Any"), sorted.map(([value, name]) => el("option", { value }, name)));
  if (sorted.some(([value]) => value === chosen)) select.value = chosen;
}

// --- search ----------------------------------------------------------------------------------------

function searchFilters() {
  const form = $("search-form");
  const data = new FormData(form);
  const filters = {
    q: (data.get("q") || "").trim(),
    sentiment: data.get("sentiment"),
    source: data.get("source"),
    location: data.get("location"),
    rating_min: data.get("rating_min"),
    rating_max: data.get("rating_max"),
  };
  // "Scored low on staff" and the like: the model's aspect score at most 2.5 of 5.
  if (data.get("aspect")) {
    filters.aspect = data.get("aspect");
    filters.aspect_max = 2.5;
  }
  if (data.get("date") === "period") {
    const { current } = periodRanges(state.days);
    filters.date_from = current.from;
  }
  const sort = data.get("sort");
  if (sort) {
    const [key, order] = sort.split(":");
    filters.sort = key;
    filters.order = order;
  }
  return filters;
}

function validFilters(filters) {
  const summary = $("search-summary");
  if (filters.rating_min && filters.rating_max && Number(filters.rating_min) > Number(filters.rating_max)) {
    summary.textContent = "The lowest rating is above the highest rating; change one of them.";
    summary.classList.add("is-error");
    return false;
  }
  summary.classList.remove("is-error");
  return true;
}

async function runSearch({ append = false } = {}) {
  const results = $("results");
  const more = $("load-more");
  if (!append) {
    const filters = searchFilters();
    if (!validFilters(filters)) return;
    state.search.params = filters;
    state.search.cursor = null;
    showLoading(results, "Searching");
    $("search-summary").textContent = "";
    more.hidden = true;
  } else {
    more.disabled = true;
    more.textContent = "Loading…";
  }
  const token = ++state.tokens.search;
  try {
    const page = await getJson(
      PATHS.mentions,
      buildParams({ ...state.search.params, size: 20, cursor: append ? state.search.cursor : null }),
    );
    if (token !== state.tokens.search) return;
    done(results);
    const cards = page.items.map((m) => el("li", {}, mentionCard(m)));
    if (append) {
      results.querySelector("ol")?.append(...cards);
    } else if (!page.items.length) {
      replace(results, el("p", { class: "empty" }, "No mentions match these filters."));
    } else {
      replace(results, el("ol", { class: "mentions mentions-results" }, cards));
    }
    state.search.cursor = page.next_cursor;
    const shown = results.querySelectorAll("ol > li").length;
    $("search-summary").textContent = page.total
      ? `${intFormat.format(page.total)} mention${page.total === 1 ? "" : "s"} match; showing ${intFormat.format(shown)}.`
      : "";
    more.hidden = !page.next_cursor;
  } catch (error) {
    if (token !== state.tokens.search) return;
    if (append) {
      $("search-summary").textContent = error.message;
    } else {
      showError(results, error, () => runSearch());
    }
  } finally {
    more.disabled = false;
    more.textContent = "Load more";
  }
}

async function exportCsv() {
  const button = $("export");
  const filters = searchFilters();
  if (!validFilters(filters)) return;
  button.disabled = true;
  button.textContent = "Preparing…";
  try {
    const response = await request(PATHS.exportCsv, buildParams(filters));
    const blob = await response.blob();
    const disposition = response.headers.get("Content-Disposition") || "";
    const match = /filename="?([A-Za-z0-9._-]+)"?/.exec(disposition);
    const link = el("a", { href: URL.createObjectURL(blob), download: match ? match[1] : "mentions.csv", class: "visually-hidden" });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
    $("search-summary").textContent = "The CSV file was downloaded.";
  } catch (error) {
    $("search-summary").textContent = `Export failed: ${error.message}`;
  } finally {
    button.disabled = false;
    button.textContent = "Export CSV";
  }
}

// --- session ---------------------------------------------------------------------------------------

// --- alerts: what is still open, and how fast the practice responds ---------------------------------

function duration(seconds) {
  if (seconds == null) return "–";
  if (seconds < 90) return `${Math.round(seconds)} s`;
  if (seconds < 5400) return `${Math.round(seconds / 60)} min`;
  if (seconds < 172_800) return `${oneDecimal.format(seconds / 3600)} h`;
  return `${oneDecimal.format(seconds / 86_400)} days`;
}

async function loadAlertSummary() {
  const card = $("kpi-alerts");
  card.classList.add("is-loading");
  try {
    const summary = await getJson(PATHS.alertSummary, buildParams({ days: state.days }));
    const open = summary.open_negative;
    setKpi(
      card,
      intFormat.format(open),
      summary.responded
        ? el(
            "span",
            { class: "muted" },
            `Median time to respond ${duration(summary.response_median_s)} (90% within ${duration(summary.response_p90_s)}), ` +
              `last ${state.days} days`,
          )
        : el("span", { class: "muted" }, `No alert answered in the last ${state.days} days`),
    );
    card.querySelector("[data-value]").classList.toggle("is-negative", open > 0);
  } catch (error) {
    setKpi(card, "–", el("span", { class: "muted" }, error.message));
  }
}

// --- competitors ------------------------------------------------------------------------------------

async function loadCompetitors() {
  const token = ++state.tokens.competitors;
  const share = $("share-chart");
  const ratings = $("rivals-chart");
  const table = $("rivals-table");
  const days = state.days;
  const ranges = periodRanges(days);
  const interval = days > 7 ? "week" : "day";
  showLoading(share);
  replace(ratings);
  replace(table);
  try {
    const body = await getJson(
      PATHS.compare,
      buildParams({ interval, date_from: ranges.current.from, date_to: ranges.current.to, time_zone: state.timeZone }),
    );
    if (token !== state.tokens.competitors) return;
    done(share);
    const practices = body.practices || [];
    if (practices.length < 2) {
      replace(
        share,
        el(
          "p",
          { class: "empty" },
          "No competitors tracked yet. An admin names them in the practice profile (PUT /v1/practice); " +
            "their public reviews are then ingested with their id in the competitor field.",
        ),
      );
      return;
    }
    const names = practices.map((p) => p.name);
    drawShareOfVoice(share, {
      names,
      shares: practices.map((p) => p.share_of_voice),
      description:
        `Share of voice, last ${days} days: ` +
        practices.map((p) => `${p.name} ${p.share_of_voice == null ? "–" : percentFormat.format(p.share_of_voice)}`).join(", "),
    });
    const starts = practices[0].trend.length ? practices[0].trend : practices.find((p) => p.trend.length)?.trend || [];
    const labels = starts.map((b) => labelFor(String(b.start).slice(0, 10), { month: "short", day: "numeric" }));
    const keyOf = (b) => String(b.start).slice(0, 10);
    const keys = starts.map(keyOf);
    drawRatingTrend(ratings, {
      labels,
      series: practices.map((p) => {
        const byKey = new Map(p.trend.map((b) => [keyOf(b), b.average_rating]));
        return { name: p.name, own: p.own, values: keys.map((k) => (byKey.has(k) ? byKey.get(k) : null)) };
      }),
      description: `Average rating per ${interval} of ${names.join(", ")}, last ${days} days.`,
    });
    replace(
      table,
      el(
        "div",
        { class: "table-scroll" },
        el(
          "table",
          { class: "table" },
          el("caption", { class: "visually-hidden" }, `The practice and its competitors, last ${days} days`),
          el(
            "thead",
            {},
            el(
              "tr",
              {},
              el("th", { scope: "col" }, "Practice"),
              el("th", { scope: "col", class: "num" }, "Mentions"),
              el("th", { scope: "col", class: "num" }, "Share of voice"),
              el("th", { scope: "col", class: "num" }, "Avg rating"),
              el("th", { scope: "col", class: "num" }, "Negative"),
            ),
          ),
          el(
            "tbody",
            {},
            practices.map((p, i) =>
              el(
                "tr",
                { class: p.own ? "row-own" : "" },
                el(
                  "th",
                  { scope: "row" },
                  el("span", { class: "swatch swatch-series", "data-series": String(i) }),
                  p.name,
                  p.own ? el("span", { class: "muted small" }, " (you)") : null,
                ),
                el("td", { class: "num" }, intFormat.format(p.mentions)),
                el("td", { class: "num" }, p.share_of_voice == null ? "–" : percentFormat.format(p.share_of_voice)),
                el("td", { class: "num" }, p.average_rating == null ? "–" : oneDecimal.format(p.average_rating)),
                el("td", { class: "num" }, p.negative_share == null ? "–" : percentFormat.format(p.negative_share)),
              ),
            ),
          ),
        ),
      ),
    );
    for (const swatch of table.querySelectorAll(".swatch-series")) {
      swatch.style.backgroundColor = seriesColour(Number(swatch.dataset.series));
    }
  } catch (error) {
    if (token !== state.tokens.competitors) return;
    showError(share, error, loadCompetitors);
  }
}

// --- testimonial wall ------------------------------------------------------------------------------

const REJECT_REASONS = [
  "Not specific enough",
  "Mentions health details",
  "Names a patient or staff member",
  "Tone is not right for the website",
  "Duplicate of a published testimonial",
];

const canCurate = () => state.role === "marketer" || state.role === "admin";

async function loadWall() {
  const token = ++state.tokens.wall;
  const container = $("wall");
  for (const tab of document.querySelectorAll("#wall-tabs [role=tab]")) {
    const selected = tab.dataset.wall === state.wall;
    tab.setAttribute("aria-selected", String(selected));
    tab.tabIndex = selected ? 0 : -1;
  }
  $("wall-tabs").hidden = !canCurate();
  if (!canCurate()) {
    // Curation records are for marketers and admins only; a viewer key is not asked for them.
    done(container);
    replace(container, el("p", { class: "empty" }, "The testimonial wall needs a marketer or admin key."));
    return;
  }
  showLoading(container);
  try {
    let cards;
    if (state.wall === "candidates") {
      const body = await getJson(PATHS.candidates, buildParams({ limit: 12 }));
      cards = (body.items || []).map(candidateCard);
    } else {
      const body = await getJson(PATHS.testimonials, buildParams({ status: state.wall, limit: 50 }));
      cards = (body.items || []).map(testimonialCard);
    }
    if (token !== state.tokens.wall) return;
    done(container);
    const empty = {
      candidates: "No candidates: positive, specific reviews appear here until someone decides on them.",
      approved: "Nothing approved yet.",
      published: "Nothing published yet.",
    };
    replace(container, cards.length ? el("div", { class: "wall-grid" }, cards) : el("p", { class: "empty" }, empty[state.wall]));
  } catch (error) {
    if (token !== state.tokens.wall) return;
    showError(container, error, loadWall);
  }
}

function wallCard(mention, { extra = null, actions = [] }) {
  const status = el("p", { class: "wall-status", role: "status" });
  return el(
    "div",
    { class: "wall-card" },
    mentionCard(mention, { compact: true }),
    extra,
    actions.length ? el("div", { class: "wall-actions" }, actions.map((make) => make(status))) : null,
    status,
  );
}

function actionButton(label, tone, run) {
  return (status) => {
    const button = el("button", { type: "button", class: `btn btn-small ${tone}` }, label);
    button.addEventListener("click", async () => {
      button.disabled = true;
      status.textContent = "Saving…";
      status.classList.remove("message-error");
      try {
        await run();
        loadWall();
      } catch (error) {
        status.textContent = error.message;
        status.classList.add("message-error");
        button.disabled = false;
      }
    });
    return button;
  };
}

function rejectControl(mentionId) {
  return (status) => {
    const select = el(
      "select",
      { class: "select-small", "aria-label": "Reason to reject" },
      el("option", { value: "" }, "Reject because…"),
      REJECT_REASONS.map((r) => el("option", { value: r }, r)),
    );
    select.addEventListener("change", async () => {
      if (!select.value) return;
      select.disabled = true;
      status.textContent = "Saving…";
      try {
        await postJson(`${PATHS.testimonials}/${mentionId}/decision`, { decision: "reject", reason: select.value });
        loadWall();
      } catch (error) {
        status.textContent = error.message;
        status.classList.add("message-error");
        select.disabled = false;
      }
    });
    return select;
  };
}

function candidateCard(item) {
  const id = item.mention.id;
  return wallCard(item.mention, {
    extra: el(
      "p",
      { class: "muted small wall-quality" },
      `Quality ${percentFormat.format(item.quality)}`,
      item.reasons && item.reasons.length ? ` · ${item.reasons.join("; ")}` : "",
    ),
    actions: [
      actionButton("Approve", "btn-primary", () => postJson(`${PATHS.testimonials}/${id}/decision`, { decision: "approve" })),
      rejectControl(id),
    ],
  });
}

function testimonialCard(record) {
  const id = record.mention_id;
  const mention = { ...record.mention, id, sentiment: { label: "positive" } };
  const actions =
    record.status === "approved"
      ? [actionButton("Publish", "btn-primary", () => postJson(`${PATHS.testimonials}/${id}/publish`))]
      : record.status === "published"
        ? [actionButton("Unpublish", "btn-quiet", () => postJson(`${PATHS.testimonials}/${id}/unpublish`, {}))]
        : [];
  const extra =
    record.status === "published"
      ? el(
          "p",
          { class: "muted small" },
          record.in_feed ? "In the public feed" : "Not in the feed: its authorisation is no longer valid",
        )
      : null;
  return wallCard(mention, { extra, actions });
}

function showPublicFeedLink() {
  const link = $("feed-link");
  if (!state.tenant) return;
  link.href = `/public/${encodeURIComponent(state.tenant)}/testimonials.html`;
  link.hidden = false;
}

async function loadMe() {
  try {
    const me = await getJson(PATHS.me);
    state.role = me.role;
    state.tenant = me.tenant;
    showPublicFeedLink();
  } catch {
    state.role = null;
  }
}

async function loadAll() {
  await loadMe(); // the reply boxes and the wall's buttons depend on the key's role
  loadOverview();
  loadAttention();
  loadReputation();
  loadThemes();
  loadCompetitors();
  loadAlertSummary();
  loadFilterOptions();
  runSearch();
  loadWall();
}

function showDashboard() {
  $("signin").hidden = true;
  $("dashboard").hidden = false;
  $("session-actions").hidden = false;
  loadAll();
}

function signOut(message = "") {
  sessionStorage.removeItem(KEY_STORAGE);
  for (const key of Object.keys(state.tokens)) state.tokens[key] += 1; // drop answers in flight
  state.lastTrend = null;
  // Take the practice's data off the page, not only out of sight.
  for (const id of ["trend-chart", "trend-table", "sources", "attention", "reputation", "themes", "results"]) replace($(id));
  $("search-summary").textContent = "";
  $("load-more").hidden = true;
  $("dashboard").hidden = true;
  $("session-actions").hidden = true;
  $("signin").hidden = false;
  const input = $("api-key");
  input.value = "";
  const box = $("signin-message");
  box.textContent = message;
  box.classList.toggle("message-error", Boolean(message));
  input.focus();
}

async function signIn(event) {
  event.preventDefault();
  const input = $("api-key");
  const key = input.value.trim();
  const box = $("signin-message");
  if (!key) {
    box.textContent = "Paste the API key first.";
    box.classList.add("message-error");
    input.focus();
    return;
  }
  const button = event.target.querySelector("button[type=submit]");
  button.disabled = true;
  box.classList.remove("message-error");
  box.textContent = "Checking the key…";
  sessionStorage.setItem(KEY_STORAGE, key);
  try {
    await getJson(PATHS.me); // cheap probe of the key
    input.value = "";
    box.textContent = "";
    showDashboard();
    $("main").focus(); // the form is gone; start reading from the top of the dashboard
  } catch (error) {
    if (error.status !== 401 && error.status !== 403) {
      sessionStorage.removeItem(KEY_STORAGE);
      box.textContent = error.message;
      box.classList.add("message-error");
    }
  } finally {
    button.disabled = false;
  }
}

// --- wiring ----------------------------------------------------------------------------------------

function init() {
  $("tz").textContent = state.timeZone;
  $("signin-form").addEventListener("submit", signIn);
  $("sign-out").addEventListener("click", () => signOut("You are signed out."));
  $("refresh").addEventListener("click", loadAll);
  for (const radio of document.querySelectorAll("input[name=period]")) {
    radio.addEventListener("change", () => {
      state.days = Number(radio.value);
      loadOverview();
      loadAttention();
      loadThemes();
      loadCompetitors();
      loadAlertSummary();
      if ($("f-date").value === "period") runSearch();
    });
  }
  for (const button of document.querySelectorAll(".toggle-btn")) {
    button.addEventListener("click", () => {
      state.reputationBy = button.dataset.by;
      loadReputation();
    });
  }
  $("search-form").addEventListener("submit", (event) => {
    event.preventDefault();
    runSearch();
  });
  for (const select of document.querySelectorAll("#search-form select")) select.addEventListener("change", () => runSearch());
  $("load-more").addEventListener("click", () => runSearch({ append: true }));
  $("export").addEventListener("click", exportCsv);
  for (const tab of document.querySelectorAll("#wall-tabs [role=tab]")) {
    tab.addEventListener("click", () => {
      state.wall = tab.dataset.wall;
      loadWall();
    });
  }

  const checked = document.querySelector("input[name=period]:checked");
  state.days = checked ? Number(checked.value) : 30;
  if (apiKey()) showDashboard();
  else signOut();
}

init();
