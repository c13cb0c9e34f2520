/* The store's pages: the search (#/?q=...) and a service with its reviews (#/service/ID), both
 * drawn from the JSON API of the same daemon. Text from the API is only ever set as text
 * (textContent), never parsed as HTML. */
"use strict";

const $ = (id) => document.getElementById(id);
const TOKEN_KEY = "duxos.store.token";
const SEARCH_FIELDS = ["q", "tag", "min_price", "max_price", "min_reputation", "sort"];

let nextCursor = null;      /* of the search shown */
let reviewsCursor = null;   /* of the reviews shown */
let serviceId = null;       /* of the service page shown */

/* ---- the API ---- */

class ApiError extends Error {
  constructor(status, problem) {
    super(problem && problem.detail ? problem.detail : "the store answered " + status);
    this.status = status;
    this.problem = problem;
  }
}

async function api(method, path, body) {
  const headers = { Accept: "application/json" };
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (token && method !== "GET")
    headers.Authorization = "Bearer " + token;
  if (body !== undefined)
    headers["Content-Type"] = "application/json";
  let resp;
  try {
    resp = await fetch(path, {
      method, headers, body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (e) {
    throw new ApiError(0, { detail: "the store cannot be reached" });
  }
  const text = await resp.text();
  let json = null;
  try { json = text ? JSON.parse(text) : null; } catch (e) { json = null; }
  if (!resp.ok)
    throw new ApiError(resp.status, json);
  return json;
}

/* ---- small helpers ---- */

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {}))
    e.setAttribute(k, v);
  for (const c of children)
    e.append(c);
  return e;
}

function showError(box, err) {
  const p = err.problem;
  box.textContent = err.message + (p && p.field ? " (" + p.field + ")" : "");
  box.hidden = false;
}

function stars(n) {
  return n === null || n === undefined ? "no ratings" : Number(n).toFixed(1) + " \u2605";
}

function when(ts) {
  return ts ? ts.replace("T", " ").replace(/\.\d+Z$/, " UTC") : "";
}

function tagList(ul, tags) {
  ul.replaceChildren(...tags.map((t) =>
    el("li", {}, el("a", { class: "tag", href: "#/?tag=" + encodeURIComponent(t) }, t))));
}

/* ---- who is signed in (the token's subject, read for display only) ---- */

function subjectOf(token) {
  try {
    const part = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    return JSON.parse(atob(part)).sub || null;
  } catch (e) {
    return null;
  }
}

function showWho() {
  const token = sessionStorage.getItem(TOKEN_KEY);
  const sub = token ? subjectOf(token) : null;
  $("who").textContent = sub ? "Signed in as " + sub : "Sign in";
}

/* ---- the search ---- */

function searchParams() {
  const p = new URLSearchParams(location.hash.replace(/^#\/?\??/, ""));
  for (const k of [...p.keys()])
    if (!SEARCH_FIELDS.includes(k) || !p.get(k))
      p.delete(k);
  return p;
}

function apiQuery(p, cursor) {
  const q = new URLSearchParams();
  for (const [k, v] of p) {
    if (k === "tag")
      v.split(",").map((t) => t.trim().toLowerCase()).filter(Boolean)
        .forEach((t) => q.append("tag", t));
    else if (k === "sort" && v === "relevance" && !p.get("q"))
      continue;
    else
      q.set(k, v.trim());
  }
  q.set("limit", "20");
  if (cursor)
    q.set("cursor", cursor);
  return q;
}

function serviceItem(s) {
  return el("li", {},
    el("h2", {}, el("a", { href: "#/service/" + s.id }, s.name)),
    el("p", { class: "meta" },
      s.price + " FLOP per call \u00b7 " + stars(s.reputation) + " (" + s.rating_count +
      " ratings) \u00b7 " + s.total_calls + " calls"),
    el("p", {}, s.description.length > 240 ? s.description.slice(0, 240) + "\u2026"
                                           : s.description),
    (() => { const ul = el("ul", { class: "tags", "aria-label": "Tags" }); tagList(ul, s.tags); return ul; })());
}

async function runSearch(append) {
  const p = searchParams();
  const err = $("error");
  const list = $("results");
  err.hidden = true;
  list.setAttribute("aria-busy", "true");
  $("status").textContent = "Searching\u2026";
  try {
    const page = await api("GET", "/v1/services?" + apiQuery(p, append ? nextCursor : null));
    const items = page.services.map(serviceItem);
    if (append)
      $("results").append(...items);
    else
      $("results").replaceChildren(...items);
    nextCursor = page.next_cursor;
    $("more").hidden = !nextCursor;
    const n = $("results").children.length;
    $("status").textContent = n === 0 ? "No services found."
      : n + (nextCursor ? "+" : "") + (n === 1 ? " service" : " services") + " found.";
  } catch (e) {
    $("status").textContent = "";
    showError(err, e);
  }
  list.setAttribute("aria-busy", "false");
  list.dataset.for = location.hash; /* which search the list shows */
}

function fillSearchForm(p) {
  for (const k of SEARCH_FIELDS)
    $(k).value = p.get(k) || "";
}

/* ---- a service ---- */

async function loadService(id) {
  const s = await api("GET", "/v1/services/" + encodeURIComponent(id));
  $("svc-name").textContent = s.name + (s.listed ? "" : " (delisted)");
  $("svc-version").textContent = "version " + s.version;
  $("svc-price").textContent = s.price + " FLOP per call";
  $("svc-reputation").textContent = "reputation " + stars(s.reputation);
  $("svc-description").textContent = s.description;
  tagList($("svc-tags"), s.tags);
  $("svc-provider").textContent = s.provider;
  $("svc-endpoint").textContent = s.endpoint;
  $("svc-rate").textContent = s.rate_limit + " calls per minute";
  $("svc-calls").textContent = String(s.total_calls);
  $("svc-ratings").textContent = s.rating_count === 0 ? "none yet"
    : s.rating_count + " (mean " + Number(s.rating_mean).toFixed(2) + ")";
  $("svc-created").textContent = when(s.created_at);
  $("svc-updated").textContent = when(s.updated_at);
  document.title = s.name + " \u00b7 Dux_OS Store";
}

function reviewItem(r) {
  return el("li", {},
    el("p", { class: "meta" }, "\u2605".repeat(r.stars) + "\u2606".repeat(5 - r.stars) +
      " by " + r.reviewer + " \u00b7 " + when(r.updated_at)),
    el("p", { class: "description" }, r.text || ""));
}

async function loadReviews(id, append) {
  const q = new URLSearchParams({ limit: "20" });
  if (append && reviewsCursor)
    q.set("cursor", reviewsCursor);
  const page = await api("GET", "/v1/services/" + encodeURIComponent(id) + "/reviews?" + q);
  const items = page.reviews.map(reviewItem);
  if (append)
    $("reviews").append(...items);
  else
    $("reviews").replaceChildren(...(items.length ? items : [el("li", {}, "No reviews yet.")]));
  reviewsCursor = page.next_cursor;
  $("more-reviews").hidden = !reviewsCursor;
}

async function showService(id) {
  serviceId = id;
  $("review-error").hidden = true;
  $("review-status").textContent = "";
  $("review-form").reset();
  try {
    await loadService(id);
    await loadReviews(id, false);
  } catch (e) {
    $("svc-name").textContent = e.status === 404 ? "No such service" : "Cannot show this service";
    showError($("review-error"), e);
  }
  $("svc-name").focus();
}

async function submitReview(ev) {
  ev.preventDefault();
  const form = ev.target;
  const box = $("review-error");
  box.hidden = true;
  const stars = form.elements.stars.value;
  if (!sessionStorage.getItem(TOKEN_KEY)) {
    showError(box, new ApiError(401, { detail: "sign in with your token first" }));
    return;
  }
  const body = { stars: Number(stars) };
  const text = form.elements.text.value.trim();
  if (text)
    body.text = text;
  $("review-status").textContent = "Saving\u2026";
  try {
    await api("POST", "/v1/services/" + encodeURIComponent(serviceId) + "/reviews", body);
    await loadService(serviceId);
    await loadReviews(serviceId, false);
    $("review-status").textContent = "Your rating was saved."; /* once the list shows it */
  } catch (e) {
    $("review-status").textContent = "";
    showError(box, e);
  }
}

/* ---- routing ---- */

function route() {
  const m = location.hash.match(/^#\/service\/(svc_[0-9a-f]{32})$/);
  $("browse").hidden = !!m;
  $("service").hidden = !m;
  if (m) {
    showService(m[1]);
    return;
  }
  document.title = "Dux_OS Store";
  const p = searchParams();
  fillSearchForm(p);
  runSearch(false);
}

function init() {
  $("svc-name").setAttribute("tabindex", "-1");
  $("search").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const p = new URLSearchParams();
    for (const k of SEARCH_FIELDS) {
      const v = $(k).value.trim();
      if (v)
        p.set(k, v);
    }
    const hash = "#/?" + p;
    if (location.hash === hash)
      runSearch(false);
    else
      location.hash = hash;
  });
  $("more").addEventListener("click", () => runSearch(true));
  $("more-reviews").addEventListener("click", () => loadReviews(serviceId, true)
    .catch((e) => showError($("review-error"), e)));
  $("back").addEventListener("click", (ev) => {
    if (history.length > 1) {
      ev.preventDefault();
      history.back();
    }
  });
  $("review-form").addEventListener("submit", submitReview);
  $("token-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const t = $("token").value.trim();
    if (t)
      sessionStorage.setItem(TOKEN_KEY, t);
    $("token").value = "";
    showWho();
  });
  $("signout").addEventListener("click", () => {
    sessionStorage.removeItem(TOKEN_KEY);
    showWho();
  });
  window.addEventListener("hashchange", route);
  showWho();
  route();
}

document.addEventListener("DOMContentLoaded", init);
