// vendor-sandbox dashboard: plain DOM code, no framework, no build step. Shared helpers, the Requests
// view and the Clock view live here; Storage, Scenarios and Vendors in views.js.
// Every element is built with textContent (never innerHTML), so recorded data can never become markup.
"use strict";

const SBX = (window.SBX = { views: {}, state: {} });
const ADMIN = "/__admin";
const PAGE = 200;
// The session every view shows: "" is the default one, else "/~s/<name>" (the session picker sets it;
// a dashboard opened at <session baseUrl>/__admin/ starts on that session).
const OPENED_AT = location.pathname.match(/^\/~s\/([^/]+)\//);
SBX.state.prefix = OPENED_AT ? "/~s/" + OPENED_AT[1] : "";
SBX.adminBase = () => SBX.state.prefix + ADMIN;

// -- helpers -------------------------------------------------------------------------------------
function h(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else if (name === "class") node.className = value;
    else node.setAttribute(name, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}
SBX.h = h;

// State-changing calls always carry a JSON (or YAML) content type: the admin API refuses the simple
// content types a cross-site form could send.
async function api(method, path, body, contentType) {
  const init = { method, headers: { Accept: "application/json" }, credentials: "same-origin" };
  if (method !== "GET") {
    init.headers["Content-Type"] = contentType || "application/json";
    init.body = body === undefined ? (contentType ? "" : "{}") : contentType ? body : JSON.stringify(body);
  }
  const response = await fetch(SBX.adminBase() + path, init);
  const type = response.headers.get("content-type") || "";
  const data = type.includes("json") ? await response.json() : await response.text();
  if (!response.ok) {
    const error = new Error((data && data.error && data.error.message) || response.statusText);
    error.status = response.status;
    error.data = data;
    throw error;
  }
  return data;
}
SBX.api = api;

function status(message) {
  document.getElementById("status").textContent = message || "";
}
SBX.status = status;

function query(params) {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) if (value !== "" && value !== null && value !== undefined) search.set(name, value);
  const text = search.toString();
  return text ? "?" + text : "";
}
SBX.query = query;

function bytes(size) {
  if (size < 1024) return size + " B";
  if (size < 1024 * 1024) return (size / 1024).toFixed(1) + " KiB";
  return (size / 1024 / 1024).toFixed(1) + " MiB";
}
SBX.bytes = bytes;

async function copy(text, button) {
  try {
    await navigator.clipboard.writeText(text);
  } catch (error) {
    const area = h("textarea", {}, text);
    document.body.append(area);
    area.select();
    document.execCommand("copy");
    area.remove();
  }
  if (button) {
    button.textContent = "copied";
    setTimeout(() => (button.textContent = "copy"), 1200);
  }
}
SBX.copyButton = (text) => {
  const button = h("button", { type: "button", class: "copy", title: "copy to clipboard" }, "copy");
  button.addEventListener("click", () => copy(text, button));
  return button;
};

function kvTable(entries) {
  const rows = Object.entries(entries || {}).map(([name, value]) =>
    h("tr", {}, h("th", {}, name), h("td", {}, typeof value === "string" ? value : JSON.stringify(value))));
  return rows.length ? h("table", { class: "kv" }, h("tbody", {}, rows)) : h("p", { class: "meta" }, "none");
}
SBX.kvTable = kvTable;

function bodyBlock(body) {
  if (!body) return h("p", { class: "meta" }, "no body");
  const facts = [bytes(body.size), body.contentType || "no content type"];
  if (body.truncated) facts.push(`first ${bytes(body.captured)} kept`);
  if (body.dropped) return h("p", { class: "meta" }, facts.join(" · ") + " · body no longer kept (journal budget)");
  if (body.binary) return h("div", {}, h("p", { class: "meta" }, facts.join(" · ") + " · binary"), h("pre", {}, "first bytes: " + body.head));
  return h("div", {}, h("p", { class: "meta" }, facts.join(" · ")), h("pre", { class: "body-text" }, body.text));
}

// -- tabs ----------------------------------------------------------------------------------------
function show(name) {
  const view = SBX.views[name] ? name : "requests";
  for (const section of document.querySelectorAll(".view")) section.hidden = section.id !== "view-" + view;
  for (const link of document.querySelectorAll("#tabs a")) link.classList.toggle("active", link.dataset.view === view);
  SBX.state.view = view;
  SBX.views[view].open();
}

// -- Requests ------------------------------------------------------------------------------------
const requests = { lastId: 0, oldest: null, selected: null, rows: new Map(), timer: null, busy: false };

function filters() {
  const form = document.getElementById("request-filters");
  const values = {
    vendor: form.vendor.value,
    operation: form.operation.value.trim(),
    status: form.status.value.trim(),
    text: form.text.value.trim(),
  };
  if (document.getElementById("filter-admin").checked) values.vendor = "admin";
  return values;
}

function requestRow(entry) {
  const statusClass = entry.status ? "s" + String(entry.status)[0] : "";
  const unmatched = !entry.operation && entry.nearestRoute;
  const row = h("tr", { "data-id": entry.id, class: requests.selected === entry.id ? "selected" : null },
    h("td", {}, entry.id),
    h("td", { title: `sandbox ${entry.timestamp} · real ${entry.realTime || ""}` }, (entry.timestamp || "").slice(11, 23)),
    h("td", {}, entry.method),
    h("td", { title: entry.path }, entry.path),
    h("td", { class: statusClass }, entry.status === null ? "—" : entry.status),
    h("td", { title: entry.operation || "" }, entry.operation || (unmatched ? h("span", { class: "tag bad", title: "nearest: " + entry.nearestRoute }, "no route") : "")),
    h("td", {}, entry.durationMs === null ? "" : Math.round(entry.durationMs)),
    h("td", { title: entry.scenarioRule || "" }, entry.scenarioRule || ""));
  row.addEventListener("click", () => openRequest(entry.id));
  return row;
}

async function loadRequests(reset) {
  if (requests.busy) return;
  requests.busy = true;
  try {
    const body = document.getElementById("request-rows");
    const params = { ...filters(), view: "summary", limit: PAGE };
    if (!reset) params.since = requests.lastId;
    const page = await api("GET", "/requests" + query(params));
    if (!reset && page.lastId < requests.lastId) return loadAgain(); // the journal was cleared
    if (reset) {
      body.replaceChildren();
      requests.rows.clear();
      requests.oldest = null;
    }
    const fresh = page.requests.filter((entry) => !requests.rows.has(entry.id));
    const nodes = fresh.map((entry) => {
      const row = requestRow(entry);
      requests.rows.set(entry.id, row);
      return row;
    });
    if (reset) body.append(...nodes);
    else body.prepend(...nodes);
    if (page.requests.length) {
      requests.lastId = Math.max(requests.lastId, page.requests[0].id);
      if (reset) requests.oldest = page.requests[page.requests.length - 1].id;
    }
    requests.lastId = Math.max(requests.lastId, reset ? page.lastId : requests.lastId);
    trimRows(body);
    const shown = requests.rows.size;
    requests.total = reset ? page.total : (requests.total || 0) + fresh.length;
    document.getElementById("request-count").textContent = `${shown} shown of ${requests.total} matching`;
    document.getElementById("older-requests").hidden = shown >= requests.total;
    status("");
  } catch (error) {
    status("requests: " + error.message);
  } finally {
    requests.busy = false;
  }
}

function loadAgain() {
  requests.busy = false;
  requests.lastId = 0;
  return loadRequests(true);
}

// The list keeps at most a few pages in the DOM so a busy journal never slows the page down.
function trimRows(body) {
  while (body.rows.length > PAGE * 5) {
    const last = body.lastElementChild;
    requests.rows.delete(Number(last.dataset.id));
    last.remove();
  }
}

async function olderRequests() {
  const offset = requests.rows.size;
  const page = await api("GET", "/requests" + query({ ...filters(), view: "summary", limit: PAGE, offset }));
  const body = document.getElementById("request-rows");
  for (const entry of page.requests) {
    if (requests.rows.has(entry.id)) continue;
    const row = requestRow(entry);
    requests.rows.set(entry.id, row);
    body.append(row);
  }
  document.getElementById("request-count").textContent = `${requests.rows.size} shown of ${page.total} matching`;
  document.getElementById("older-requests").hidden = requests.rows.size >= page.total;
}

function explanation(entry) {
  const info = entry.explanation;
  const signed = ((entry.query || {})["X-Amz-SignedHeaders"] || "host").split(";");
  const received = [["method", entry.method], ["path", entry.path]];
  for (const name of signed) received.push([name, (entry.headers || {})[name] || "(not sent)"]);
  if (info.signedHost) received.push(["host the URL was signed for", info.signedHost]);
  const rows = received.map(([name, value]) => {
    const differs = info.signedHost && (name === "host" || name === "host the URL was signed for");
    return h("tr", { class: differs ? "differs" : null }, h("th", {}, name), h("td", {}, value));
  });
  return h("div", { class: "explain", id: "explanation" },
    h("h3", {}, `Why it was refused: ${info.code}`),
    h("p", {}, info.message),
    h("div", { class: "side" },
      h("div", {}, h("p", { class: "meta" }, "Canonical request the sandbox computed (from what it received)"),
        h("pre", { id: "canonical-request" }, info.canonicalRequest || "")),
      h("div", {}, h("p", { class: "meta" }, "What the request carried (signed parts)"),
        h("table", { class: "kv" }, h("tbody", {}, rows)))),
    h("div", { class: "side" },
      h("div", {}, h("p", { class: "meta" }, "String to sign (sandbox)"), h("pre", { id: "string-to-sign" }, info.stringToSign || "")),
      h("div", {}, h("p", { class: "meta" }, "Signature provided"), h("pre", {}, info.signatureProvided || ""),
        h("p", { class: "meta" }, "Compare with the canonical request your client built: the first line that differs is the cause."))));
}

async function openRequest(id) {
  requests.selected = id;
  for (const row of document.querySelectorAll("#request-rows tr")) row.classList.toggle("selected", Number(row.dataset.id) === id);
  const panel = document.getElementById("request-detail");
  let entry;
  try {
    entry = await api("GET", "/requests/" + id);
  } catch (error) {
    panel.replaceChildren(h("p", { class: "error-box" }, error.message));
    return;
  }
  const facts = {
    "sandbox time": entry.timestamp,
    "real time": entry.realTime,
    "correlation id": entry.correlationId,
    vendor: entry.vendor,
    operation: entry.operation || "(no route)",
    status: entry.status,
    "duration ms": entry.durationMs,
    "scenario rule": entry.scenarioRule || "none",
  };
  if (entry.error) facts.error = entry.error;
  if (entry.nearestRoute) facts["nearest route"] = entry.nearestRoute;
  panel.replaceChildren(
    h("h3", { id: "detail-title" }, `${entry.method} ${entry.path}`),
    entry.explanation ? explanation(entry) : null,
    kvTable(facts),
    h("h3", {}, "Query"), kvTable(entry.query),
    h("h3", {}, "Request headers"), kvTable(entry.headers),
    h("h3", {}, "Request body"), bodyBlock(entry.requestBody),
    h("h3", {}, "Response headers"), kvTable((entry.response || {}).headers),
    h("h3", {}, "Response body"), bodyBlock((entry.response || {}).body));
  panel.dataset.id = id;
}

function schedule() {
  clearTimeout(requests.timer);
  requests.timer = setTimeout(async () => {
    if (SBX.state.view === "requests" && document.getElementById("live").checked && !document.hidden) await loadRequests(false);
    schedule();
  }, 1000);
}

SBX.views.requests = {
  ready: false,
  async open() {
    if (!this.ready) {
      this.ready = true;
      const form = document.getElementById("request-filters");
      let pending = null;
      form.addEventListener("input", () => {
        clearTimeout(pending);
        pending = setTimeout(() => loadAgain(), 250);
      });
      form.addEventListener("submit", (event) => event.preventDefault());
      document.getElementById("older-requests").addEventListener("click", olderRequests);
      document.getElementById("clear-requests").addEventListener("click", async () => {
        await api("DELETE", "/requests");
        await loadAgain();
      });
      // The filter choices load beside the first page of rows, not before it.
      Promise.all([api("GET", "/vendors"), api("GET", "/operations")])
        .then(([vendors, operations]) => {
          const select = document.getElementById("filter-vendor");
          for (const vendor of vendors.vendors) select.append(h("option", { value: vendor.name }, vendor.name));
          const list = document.getElementById("operation-names");
          for (const row of operations.operations) list.append(h("option", { value: row.operation }));
        })
        .catch((error) => status(error.message));
    }
    await loadAgain();
    schedule();
  },
};

// -- Clock ---------------------------------------------------------------------------------------
async function refreshClock() {
  try {
    const clock = await api("GET", "/clock");
    document.getElementById("clock-badge").textContent = (clock.frozen ? "❄ " : "") + clock.now.replace("T", " ").slice(0, 19) + "Z";
    document.getElementById("clock-sandbox").textContent = clock.now;
    document.getElementById("clock-real").textContent = clock.realNow || "";
    document.getElementById("clock-state").textContent = clock.frozen ? "frozen" : "running";
    document.getElementById("clock-offset").textContent = `sandbox − real: ${Math.round(clock.offsetSeconds)} s`;
    SBX.state.clock = clock;
  } catch (error) {
    status("clock: " + error.message);
  }
}

async function clockCall(body) {
  try {
    await api("POST", "/clock", body);
    status("");
  } catch (error) {
    status("clock: " + error.message);
  }
  await refreshClock();
}

SBX.views.clock = {
  ready: false,
  async open() {
    if (!this.ready) {
      this.ready = true;
      document.getElementById("clock-advance").addEventListener("click", () => {
        const amount = Number(document.getElementById("clock-amount").value);
        const unit = Number(document.getElementById("clock-unit").value);
        clockCall({ advance: amount * unit });
      });
      document.getElementById("clock-set").addEventListener("click", () => clockCall({ set: document.getElementById("clock-set-value").value.trim() }));
      document.getElementById("clock-freeze").addEventListener("click", () => clockCall({ freeze: true }));
      document.getElementById("clock-unfreeze").addEventListener("click", () => clockCall({ unfreeze: true }));
    }
    await refreshClock();
  },
};

// -- Session picker: shown once the server has sessions (POST /__admin/sessions) ----------------------
async function refreshSessions() {
  const slot = document.getElementById("session-slot");
  let listed;
  try {
    const response = await fetch(ADMIN + "/sessions", { headers: { Accept: "application/json" }, credentials: "same-origin" });
    if (!response.ok) return;
    listed = (await response.json()).sessions.map((session) => session.name);
  } catch (error) {
    return;
  }
  const current = SBX.state.prefix ? decodeURIComponent(SBX.state.prefix.slice(4)) : "";
  if (current && !listed.includes(current)) listed.push(current); // deleted or expired: its views say so
  slot.hidden = listed.length === 0;
  let select = document.getElementById("session-picker");
  if (!select) {
    select = h("select", { id: "session-picker", title: "session: every view shows this session's state" });
    select.addEventListener("change", () => {
      SBX.state.prefix = select.value ? "/~s/" + encodeURIComponent(select.value) : "";
      show(SBX.state.view || "requests");
      refreshClock();
    });
    slot.replaceChildren(h("label", {}, "session ", select));
  }
  const names = ["", ...listed];
  const shown = Array.from(select.options).map((option) => option.value);
  if (shown.join("\n") !== names.join("\n")) {
    select.replaceChildren(...names.map((name) => h("option", { value: name }, name || "default")));
  }
  select.value = current;
}

document.addEventListener("DOMContentLoaded", () => {
  window.addEventListener("hashchange", () => show(location.hash.slice(1)));
  // views.js registers its views on DOMContentLoaded too; run after it.
  setTimeout(() => show(location.hash.slice(1) || "requests"), 0);
  refreshClock();
  refreshSessions();
  setInterval(refreshClock, 5000);
  setInterval(refreshSessions, 5000);
});
