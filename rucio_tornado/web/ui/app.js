// The catalog browser: read-only views over the Rucio REST API of this server.
// The token lives in sessionStorage; big listings are read line by line from the
// x-json-stream response and shown PAGE rows at a time ("more" reads the next rows).
"use strict";

const PAGE = 100;
const TOKEN = "rucio-tornado-token";
const ACCOUNT = "rucio-tornado-account";
const $ = (selector) => document.querySelector(selector);
let openStreams = [];            // cancelled when another view opens (the server stops too)

// -- the API -------------------------------------------------------------------------------
class ApiError extends Error {}

async function api(method, path, body) {
  const headers = { "X-Rucio-Auth-Token": sessionStorage.getItem(TOKEN) || "",
                    "Accept": "application/x-json-stream, application/json" };
  const response = await fetch(path, { method, headers,
                                       body: body === undefined ? undefined : JSON.stringify(body) });
  if (response.status === 401) { logout(); throw new ApiError("please log in again"); }
  if (!response.ok) {
    const name = response.headers.get("ExceptionClass") || response.status;
    const message = response.headers.get("ExceptionMessage") || response.statusText;
    throw new ApiError(`${name}: ${message}`);
  }
  return response;
}

async function json(path) {
  const text = await (await api("GET", path)).text();
  return text.trim() ? JSON.parse(text) : null;
}

/** Rows of an x-json-stream response, read only as far as they are asked for. */
class Lines {
  constructor(response) {
    this.reader = response.body.getReader();
    this.decoder = new TextDecoder();
    this.buffer = "";
    this.finished = false;
    openStreams.push(this);
  }
  async take(count) {
    const rows = [];
    while (rows.length < count) {
      const cut = this.buffer.indexOf("\n");
      if (cut >= 0) {
        const line = this.buffer.slice(0, cut).trim();
        this.buffer = this.buffer.slice(cut + 1);
        if (line) rows.push(JSON.parse(line));
        continue;
      }
      if (this.finished) {
        if (this.buffer.trim()) rows.push(JSON.parse(this.buffer));
        this.buffer = "";
        break;
      }
      const { value, done } = await this.reader.read();
      if (done) this.finished = true;
      else this.buffer += this.decoder.decode(value, { stream: true });
    }
    return rows;
  }
  get exhausted() { return this.finished && !this.buffer.trim(); }
  cancel() { if (!this.finished) this.reader.cancel().catch(() => {}); this.finished = true; }
}

// -- rendering -----------------------------------------------------------------------------
function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) {
    if (key === "onclick") node.addEventListener("click", value);
    else if (value !== undefined && value !== null) node.setAttribute(key, value);
  }
  for (const child of children.flat()) {
    node.append(child instanceof Node ? child : document.createTextNode(String(child ?? "")));
  }
  return node;
}

const didLink = (scope, name) =>
  el("a", { href: `#did/${encodeURIComponent(scope)}/${encodeURIComponent(name)}` },
     `${scope}:${name}`);
const rseLink = (rse) => el("a", { href: `#rse/${encodeURIComponent(rse)}` }, rse);
const q = encodeURIComponent;

function cell(key, value) {
  if (value === null || value === undefined) return el("td", { class: "muted" }, "");
  if (key.endsWith("state") || key === "state") {
    return el("td", { class: `state-${value}` }, value);
  }
  if (typeof value === "number") return el("td", { class: "num" }, value.toLocaleString("en"));
  if (typeof value === "object") return el("td", {}, JSON.stringify(value));
  return el("td", {}, value);
}

/** A key/value table of one object. */
function fields(object, links = {}) {
  const table = el("table", { class: "fields" });
  for (const [key, value] of Object.entries(object || {})) {
    const td = links[key] ? el("td", {}, links[key](value)) : cell(key, value);
    table.append(el("tr", {}, el("th", {}, key), td));
  }
  return table;
}

/** A table with ``columns``; ``render[column](row)`` overrides a cell's content. */
function rowsTable(columns, render = {}) {
  const body = el("tbody");
  const table = el("table", {}, el("thead", {}, el("tr", {}, columns.map((c) => el("th", {}, c)))),
                   body);
  table.add = (rows) => {
    for (const row of rows) {
      body.append(el("tr", {}, columns.map((c) =>
        render[c] ? el("td", {}, render[c](row)) : cell(c, row[c]))));
    }
  };
  return table;
}

function section(title, id) {
  const box = el("div", { id });
  $("#view").append(el("h2", {}, title), box);
  return box;
}

function failed(box, error) {
  box.append(el("p", { class: "error" }, error.message || String(error)));
}

/** Stream ``method path`` into a table of ``columns`` in ``box``, PAGE rows at a time. */
async function listing(box, method, path, body, columns, render) {
  const table = rowsTable(columns, render);
  const status = el("p", { class: "muted count" });
  const more = el("button", { type: "button", class: "more", hidden: "" }, `more`);
  box.append(table, status, more);
  try {
    const lines = new Lines(await api(method, path, body));
    let shown = 0;
    const next = async () => {
      more.disabled = true;
      const rows = await lines.take(PAGE);
      table.add(rows);
      shown += rows.length;
      const end = lines.exhausted || rows.length < PAGE;
      status.textContent = end ? `${shown} rows` : `first ${shown} rows shown`;
      more.hidden = end;
      more.disabled = false;
      if (end) lines.cancel();
    };
    more.addEventListener("click", () => next().catch((error) => failed(box, error)));
    await next();
  } catch (error) {
    failed(box, error);
  }
}

// -- the filter language (as `rucio list-dids --filter`) -------------------------------------
const OPERATORS = [[">=", ".gte"], ["<=", ".lte"], ["!=", ".ne"], [">", ".gt"], ["<", ".lt"],
                   ["=", ""]];

/** "name=data*, length>10; project=mc" -> ({type}, [{name: "data*", "length.gt": 10}, ...]) */
function parseFilters(text) {
  let type = null;
  const groups = [];
  for (const part of text.split(";")) {
    const group = {};
    for (const term of part.split(",").map((t) => t.trim()).filter(Boolean)) {
      const found = OPERATORS.find(([op]) => term.includes(op));
      if (!found) throw new ApiError(`cannot read the filter ${JSON.stringify(term)}`);
      const [op, suffix] = found;
      const [key, ...rest] = term.split(op);
      let value = rest.join(op).trim();
      if (key.trim() === "type") { type = value.toLowerCase(); continue; }
      if (/^-?\d+(\.\d+)?$/.test(value)) value = Number(value);
      group[key.trim() + suffix] = value;
    }
    if (Object.keys(group).length) groups.push(group);
  }
  return { type, groups };
}

// -- views ---------------------------------------------------------------------------------
async function searchView(params) {
  const scope = params.get("scope") || "";
  const filter = params.get("filter") || "";
  const form = el("form", { id: "search-form" },
    el("label", {}, "scope ", el("select", { name: "scope", id: "scope" })),
    el("label", {}, "filter ", el("input", { name: "filter", id: "filter", size: 50, value: filter,
                                            placeholder: "name=data*, length>10, type=dataset" })),
    el("button", { type: "submit" }, "search"));
  $("#view").append(el("h1", {}, "Search DIDs"), form,
                    el("p", { class: "muted" }, "Filters as in rucio list-dids --filter: " +
                       "key=value, key>value, ... (AND); several groups separated by ; (OR); " +
                       "type=all|collection|dataset|container|file."));
  const select = form.querySelector("select");
  try {
    for (const name of (await json("/scopes")) || []) {
      select.append(el("option", name === scope ? { selected: "" } : {}, name));
    }
  } catch (error) { failed($("#view"), error); }
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    location.hash = `search?scope=${q(select.value)}&filter=${q(form.filter.value)}`;
  });
  if (!scope) return;
  const box = section(`DIDs in ${scope}`, "results");
  let parsed;
  try { parsed = parseFilters(filter); } catch (error) { return failed(box, error); }
  const query = new URLSearchParams({ type: parsed.type || "collection", long: "true" });
  if (parsed.groups.length) query.set("filters", JSON.stringify(parsed.groups));
  await listing(box, "GET", `/dids/${q(scope)}/dids/search?${query}`, undefined,
                ["did", "did_type", "bytes", "length"],
                { did: (row) => didLink(row.scope, row.name) });
}

async function didView(scope, name) {
  const base = `/dids/${q(scope)}/${q(name)}`;
  $("#view").append(el("h1", {}, `${scope}:${name}`));
  const about = section("DID", "did-fields");
  let did;
  try {
    did = await json(`${base}?dynamic_depth=FILE`);
    about.append(fields(did));
  } catch (error) { return failed(about, error); }
  const meta = section("metadata", "did-meta");
  // every plugin's keys, less the empty ones and those the DID table shows already
  json(`${base}/meta?plugin=ALL`).then((all) => meta.append(fields(Object.fromEntries(
    Object.entries(all || {}).filter(([key, value]) =>
      value !== null && value !== "" && !(key in did) &&
      !["did_type", "is_open", "scope", "name"].includes(key))))))
    .catch((error) => failed(meta, error));
  if (did.type !== "FILE") {
    await listing(section("content", "did-content"), "GET", `${base}/dids`, undefined,
                  ["did", "type", "bytes", "adler32"],
                  { did: (row) => didLink(row.scope, row.name) });
  }
  await listing(section("replicas", "did-replicas"), "POST", "/replicas/list",
                { dids: [{ scope, name }], all_states: true },
                ["did", "bytes", "adler32", "states", "pfns"], {
                  did: (row) => didLink(row.scope, row.name),
                  states: (row) => Object.entries(row.states || {}).map(([rse, state]) =>
                    el("div", {}, rseLink(rse), " ", el("span", { class: `state-${state}` }, state))),
                  pfns: (row) => Object.keys(row.pfns || {}).map((pfn) => el("div", { class: "pfn" }, pfn)),
                });
  const rules = section("rules", "did-rules");
  await listing(rules, "GET", `${base}/rules`, undefined,
                ["id", "account", "rse_expression", "copies", "state", "locks_ok_cnt",
                 "locks_replicating_cnt", "locks_stuck_cnt", "locks"], {
                  account: (row) => el("a", { href: `#account/${q(row.account)}` }, row.account),
                  locks: (row) => el("button", { type: "button", class: "locks",
                                                 onclick: () => locksOf(rules, row.id) }, "locks"),
                });
}

async function locksOf(box, ruleId) {
  const target = el("div", { class: "rule-locks" }, el("h3", {}, `locks of rule ${ruleId}`));
  box.append(target);
  await listing(target, "GET", `/rules/${q(ruleId)}/locks`, undefined,
                ["scope", "name", "rse", "state"], { rse: (row) => rseLink(row.rse) });
}

async function rsesView() {
  $("#view").append(el("h1", {}, "RSEs"));
  await listing(section("all RSEs", "rse-list"), "GET", "/rses", undefined,
                ["rse", "rse_type", "deterministic", "availability_read", "availability_write"],
                { rse: (row) => rseLink(row.rse) });
}

async function rseView(rse) {
  $("#view").append(el("h1", {}, `RSE ${rse}`));
  const parts = [["RSE", "rse-fields", `/rses/${q(rse)}`],
                 ["attributes", "rse-attributes", `/rses/${q(rse)}/attr`]];
  for (const [title, id, path] of parts) {
    const box = section(title, id);
    try { box.append(fields(await json(path))); } catch (error) { failed(box, error); }
  }
  await listing(section("usage", "rse-usage"), "GET", `/rses/${q(rse)}/usage`, undefined,
                ["source", "used", "free", "total", "files", "updated_at"]);
}

async function accountView(account) {
  $("#view").append(el("h1", {}, `account ${account}`));
  const about = section("account", "account-fields");
  try { about.append(fields(await json(`/accounts/${q(account)}`))); }
  catch (error) { failed(about, error); }
  const quotas = section("quotas (local limits, bytes)", "account-limits");
  try { quotas.append(fields(await json(`/accounts/${q(account)}/limits`), {})); }
  catch (error) { failed(quotas, error); }
  await listing(section("usage", "account-usage"), "GET", `/accounts/${q(account)}/usage`,
                undefined, ["rse", "bytes", "bytes_limit", "bytes_remaining", "files"],
                { rse: (row) => rseLink(row.rse) });
  await listing(section("rules", "account-rules"), "GET", `/accounts/${q(account)}/rules`,
                undefined, ["id", "scope", "name", "rse_expression", "state", "locks_ok_cnt",
                            "locks_replicating_cnt", "locks_stuck_cnt"],
                { name: (row) => didLink(row.scope, row.name) });
}

// -- login and routing ---------------------------------------------------------------------
function logout() {
  sessionStorage.removeItem(TOKEN);
  sessionStorage.removeItem(ACCOUNT);
  route();
}

async function useToken(token) {
  sessionStorage.setItem(TOKEN, token);
  const me = await json("/accounts/whoami");
  sessionStorage.setItem(ACCOUNT, me.account);
  if (!location.hash || location.hash === "#login") location.hash = "search";
  else route();
}

async function login(event) {
  event.preventDefault();
  const form = event.target;
  $("#login-error").textContent = "";
  try {
    const response = await fetch("/auth/userpass", { headers: {
      "X-Rucio-Account": form.account.value, "X-Rucio-Username": form.username.value,
      "X-Rucio-Password": form.password.value } });
    if (!response.ok) {
      throw new ApiError(response.headers.get("ExceptionMessage") || "login failed");
    }
    form.password.value = "";
    await useToken(response.headers.get("X-Rucio-Auth-Token"));
  } catch (error) { $("#login-error").textContent = error.message; }
}

async function route() {
  for (const stream of openStreams) stream.cancel();
  openStreams = [];
  const view = $("#view");
  view.replaceChildren();
  const signedIn = Boolean(sessionStorage.getItem(TOKEN));
  $("#login").hidden = signedIn;
  $("#nav").hidden = !signedIn;
  if (!signedIn) return;
  const account = sessionStorage.getItem(ACCOUNT);
  $("#nav-account").textContent = `account ${account}`;
  $("#nav-account").href = `#account/${q(account)}`;
  const [path, query] = location.hash.replace(/^#/, "").split("?");
  const [name, ...parts] = path.split("/").map(decodeURIComponent);
  const params = new URLSearchParams(query || "");
  try {
    if (name === "did") await didView(parts[0], parts.slice(1).join("/"));
    else if (name === "rses") await rsesView();
    else if (name === "rse") await rseView(parts[0]);
    else if (name === "account") await accountView(parts[0] || account);
    else await searchView(params);
  } catch (error) { failed(view, error); }
  view.dataset.ready = location.hash;         // for tests: the view finished its first page
}

document.addEventListener("DOMContentLoaded", () => {
  $("#login-form").addEventListener("submit", login);
  $("#token-form").addEventListener("submit", (event) => {
    event.preventDefault();
    useToken(event.target.token.value.trim()).catch((error) => {
      sessionStorage.removeItem(TOKEN);
      $("#login-error").textContent = error.message;
    });
  });
  $("#logout").addEventListener("click", logout);
  window.addEventListener("hashchange", route);
  route();
});
