// Storage, Scenarios and Vendors views (helpers come from app.js as window.SBX).
"use strict";

(() => {
  const { h, api, query, bytes, kvTable, status, copyButton } = window.SBX;
  const PAGE = 200;
  const enc = (text) => encodeURIComponent(text);
  const objectPath = (info) => `${enc(info.bucket)}/${info.key.split("/").map(enc).join("/")}`;

  // -- Storage -----------------------------------------------------------------------------------
  const storage = { offset: 0, selected: null };

  function previewKind(type) {
    const media = (type || "").split(";")[0].trim().toLowerCase();
    if (["image/png", "image/jpeg", "image/gif", "image/webp", "image/bmp", "image/avif"].includes(media)) return "image";
    if (media === "application/pdf") return "pdf";
    if (media.startsWith("text/") || /json|xml|yaml/.test(media)) return "text";
    return null;
  }

  async function showObject(info) {
    storage.selected = info.bucket + "/" + info.key;
    const panel = document.getElementById("object-preview");
    const url = SBX.adminBase() + "/preview/" + objectPath(info);
    const kind = previewKind(info.contentType);
    let preview = h("p", { class: "meta" }, "No preview for this type; download it instead.");
    if (kind === "image") preview = h("img", { class: "preview-img", id: "preview-image", src: url, alt: info.key });
    if (kind === "pdf") preview = h("iframe", { class: "preview-frame", id: "preview-pdf", src: url, title: info.key });
    if (kind === "text") {
      preview = h("pre", { id: "preview-text" }, "loading…");
      fetch(url).then((r) => r.text()).then((text) => (preview.textContent = text.slice(0, 200000)));
    }
    panel.replaceChildren(
      h("h3", {}, info.key),
      kvTable({
        bucket: info.bucket,
        size: `${bytes(info.size)} (${info.size} bytes)`,
        "content type": info.contentType,
        uploaded: info.uploadedAt,
        etag: info.etag,
        sha256: info.sha256,
      }),
      h("h3", {}, "Metadata"),
      kvTable(info.metadata),
      h("div", { class: "row" },
        h("a", { href: SBX.adminBase() + "/objects/" + objectPath(info), download: info.key.split("/").pop() }, "Download"),
        h("button", { type: "button", class: "danger", id: "delete-object", onclick: () => deleteObject(info) }, "Delete")),
      h("h3", {}, "Preview"),
      preview);
  }

  async function deleteObject(info) {
    if (!window.confirm(`Delete ${info.bucket}/${info.key}?`)) return;
    try {
      await api("DELETE", "/objects/" + objectPath(info));
      document.getElementById("object-preview").replaceChildren(h("p", { class: "meta" }, "Deleted."));
      await loadObjects(true);
    } catch (error) {
      status("delete: " + error.message);
    }
  }

  function objectRow(info) {
    const meta = Object.entries(info.metadata || {}).map(([k, v]) => `${k}=${v}`).join(" ");
    const row = h("tr", { "data-key": info.key },
      h("td", {}, info.bucket), h("td", { title: info.key }, info.key), h("td", {}, bytes(info.size)),
      h("td", {}, info.contentType), h("td", {}, (info.uploadedAt || "").slice(0, 19).replace("T", " ")),
      h("td", { title: meta }, meta), h("td", {}, previewKind(info.contentType) ? "preview" : ""));
    row.addEventListener("click", () => showObject(info));
    return row;
  }

  async function loadObjects(reset) {
    if (reset) storage.offset = 0;
    const bucket = document.getElementById("bucket-select").value;
    const prefix = document.getElementById("object-prefix").value;
    try {
      const page = await api("GET", "/objects" + query({ bucket, prefix, limit: PAGE, offset: storage.offset }));
      const rows = document.getElementById("object-rows");
      if (reset) rows.replaceChildren();
      rows.append(...page.objects.map(objectRow));
      storage.offset += page.count;
      document.getElementById("object-count").textContent = `${storage.offset} shown of ${page.total} objects`;
      document.getElementById("more-objects").hidden = storage.offset >= page.total;
      const select = document.getElementById("bucket-select");
      const chips = document.getElementById("bucket-list");
      chips.replaceChildren(...page.buckets.map((b) => {
        const chip = h("li", {}, `${b.name} (${b.objects})`);
        chip.addEventListener("click", () => {
          select.value = b.name;
          loadObjects(true);
        });
        return chip;
      }));
      if (select.options.length !== page.buckets.length + 1) {
        select.replaceChildren(h("option", { value: "" }, "all"), ...page.buckets.map((b) => h("option", { value: b.name }, b.name)));
        select.value = bucket;
      }
    } catch (error) {
      status("objects: " + error.message);
    }
  }

  window.SBX.views.storage = {
    ready: false,
    async open() {
      if (!this.ready) {
        this.ready = true;
        document.getElementById("bucket-select").addEventListener("change", () => loadObjects(true));
        document.getElementById("object-prefix").addEventListener("change", () => loadObjects(true));
        document.getElementById("refresh-objects").addEventListener("click", () => loadObjects(true));
        document.getElementById("more-objects").addEventListener("click", () => loadObjects(false));
      }
      await loadObjects(true);
    },
  };

  // -- Scenarios ---------------------------------------------------------------------------------
  function problem(error) {
    return h("div", { class: "error-box scenario-error" },
      h("b", {}, error.file || "document"), " ",
      h("code", {}, error.path || ""), h("div", {}, error.reason || error.message || ""));
  }

  function scenarioCard(scenario) {
    const toggle = h("button", { type: "button", "data-scenario": scenario.name }, scenario.enabled ? "Disable" : "Enable");
    toggle.addEventListener("click", async () => {
      try {
        await api("POST", `/scenarios/${enc(scenario.name)}/${scenario.enabled ? "disable" : "enable"}`);
      } catch (error) {
        status(error.message);
      }
      await loadScenarios();
    });
    const edit = h("button", { type: "button", class: "edit-scenario" }, "Edit");
    edit.addEventListener("click", () => {
      document.getElementById("scenario-text").value = JSON.stringify(editable(scenario), null, 2);
      document.getElementById("scenario-validation").replaceChildren(
        h("p", { class: "meta" }, "Loading a scenario with the same name replaces it in place."));
    });
    const rules = scenario.rules.map((rule) => {
      const left = typeof rule.times === "number" ? Math.max(rule.times - rule.hits, 0) : "∞";
      const key = rule.id || String(rule.index);
      const on = rule.enabled !== false;
      const switcher = h("button", { type: "button", class: "rule-toggle", "data-rule": key }, on ? "Disable" : "Enable");
      switcher.addEventListener("click", async () => {
        try {
          await api("PATCH", `/scenarios/${enc(scenario.name)}/rules/${enc(key)}`, { enabled: !on });
        } catch (error) {
          status(error.message);
        }
        await loadScenarios();
      });
      return h("tr", { class: on ? "rule" : "rule off", "data-rule": key },
        h("td", { title: rule.label }, key), h("td", {}, rule.hits),
        h("td", {}, rule.seen), h("td", {}, left), h("td", { title: JSON.stringify(rule.match || {}) }, JSON.stringify(rule.match || {})),
        h("td", {}, h("span", { class: on ? "tag" : "tag off" }, on ? "on" : "off"), " ", switcher));
    });
    return h("div", { class: "card scenario", "data-name": scenario.name },
      h("div", { class: "row" }, h("b", {}, scenario.name),
        h("span", { class: scenario.enabled ? "tag" : "tag off" }, scenario.enabled ? "enabled" : "disabled"),
        h("span", { class: "tag" }, `${scenario.hits} hits`), toggle, edit),
      h("p", { class: "meta" }, `${scenario.source || ""} ${scenario.description ? "— " + scenario.description : ""}`),
      h("table", { class: "grid" },
        h("thead", {}, h("tr", {}, h("th", {}, "rule"), h("th", {}, "hits"), h("th", {}, "seen"), h("th", {}, "times left"), h("th", {}, "match"), h("th", {}, "rule on"))),
        h("tbody", {}, rules)));
  }

  // The scenario as a document again (JSON is YAML): its own fields, without the live counters.
  function editable(scenario) {
    const rules = scenario.rules.map((rule) => {
      const { index, id, label, seen, hits, enabled, ...spec } = rule;
      return spec.id === undefined && id && !/^\d+$/.test(String(id)) ? { id, ...spec } : spec;
    });
    const doc = { name: scenario.name, description: scenario.description || scenario.name };
    if (scenario.seed) doc.seed = scenario.seed;
    if (scenario.initialState && scenario.initialState !== "Started") doc.initial_state = scenario.initialState;
    doc.rules = rules;
    return doc;
  }

  async function loadScenarios() {
    try {
      const snapshot = await api("GET", "/scenarios");
      const errors = document.getElementById("scenario-errors");
      errors.replaceChildren(...(snapshot.errors.length ? [h("h3", {}, "Scenario files that could not be loaded"), ...snapshot.errors.map(problem)] : []));
      document.getElementById("scenario-list").replaceChildren(
        h("p", { class: "meta" }, `Files: ${snapshot.files.join(", ") || "none"}`),
        ...snapshot.scenarios.map(scenarioCard));
    } catch (error) {
      document.getElementById("scenario-list").replaceChildren(h("p", { class: "error-box" }, error.message));
    }
  }

  async function submitScenario(path, done) {
    const text = document.getElementById("scenario-text").value;
    const out = document.getElementById("scenario-validation");
    try {
      const result = await api("POST", path + query({ source: "dashboard" }), text, "application/yaml");
      out.replaceChildren(h("div", { class: "ok-box" }, done(result)));
      await loadScenarios();
    } catch (error) {
      const detail = (error.data && error.data.error) || { message: error.message };
      out.replaceChildren(problem(detail));
    }
  }

  window.SBX.views.scenarios = {
    ready: false,
    async open() {
      if (!this.ready) {
        this.ready = true;
        document.getElementById("scenario-validate").addEventListener("click", () =>
          submitScenario("/scenarios/validate", (r) => `Valid: ${r.scenarios.join(", ")}`));
        document.getElementById("scenario-load").addEventListener("click", () =>
          submitScenario("/scenarios", (r) => `Loaded: ${r.loaded.join(", ")}`));
        document.getElementById("scenario-file").addEventListener("change", async (event) => {
          const file = event.target.files[0];
          if (file) document.getElementById("scenario-text").value = await file.text();
        });
      }
      await loadScenarios();
    },
  };

  // -- Vendors -----------------------------------------------------------------------------------
  // The first call an integrator makes to each vendor, with the sandbox's default credentials.
  const FIRST_CALL = {
    qubs: (base) => `curl -s -X POST ${base}/oauth2/token -d grant_type=client_credentials -d client_id=qubs-dev-client -d client_secret=qubs-dev-secret`,
    decoda: (base) => `curl -s ${base}/user/patient/P1001 -H 'API-KEY: decoda-dev-key' -H 'TENANT: demo'`,
    saferme: (base) => `curl -s '${base}/api/v4/file_attachments/upload_authorization?content_type=image/png' -H 'Authorization: Token token=saferme-dev-token' -H 'X-AppId: com.thundermaps.saferme' -H 'X-TeamId: 1234' -H 'X-InstallationId: any'`,
    candid: (base) => `curl -s -X POST ${base}/api/auth/v2/token -H 'Content-Type: application/json' -d '{"client_id":"candid-dev-client","client_secret":"candid-dev-secret"}'`,
    storage: (base) => `curl -s ${location.origin}${SBX.adminBase()}/objects`,
  };

  function line(text) {
    return h("div", { class: "row" }, h("code", {}, text), copyButton(text));
  }

  async function loadVendors() {
    try {
      const [vendors, fixtures, scenarios] = await Promise.all([api("GET", "/vendors"), api("GET", "/fixtures"), api("GET", "/scenarios")]);
      const magic = Object.fromEntries(scenarios.scenarios.filter((s) => s.name.startsWith("magic-")).map((s) => [s.name.slice(6), s.description]));
      const cards = vendors.vendors.map((vendor) => {
        const curl = FIRST_CALL[vendor.name] ? FIRST_CALL[vendor.name](vendor.baseUrls[0]) : null;
        return h("div", { class: "card vendor", "data-vendor": vendor.name },
          h("h3", {}, `${vendor.name} — ${vendor.title}`),
          h("p", { class: "meta" }, "Base URLs"), ...vendor.baseUrls.map(line),
          vendor.openapi ? h("p", {}, h("a", { href: vendor.openapi }, "OpenAPI document")) : null,
          vendor.credentials.length ? h("p", { class: "meta" }, "Credentials") : null, ...vendor.credentials.map(line),
          magic[vendor.name] ? h("p", { class: "meta" }, "Magic ids") : null,
          magic[vendor.name] ? h("p", {}, magic[vendor.name]) : null,
          curl ? h("p", { class: "meta" }, "First call") : null, curl ? line(curl) : null,
          fixtures.data[vendor.name] ? h("details", {}, h("summary", {}, "Fixture data"), h("pre", {}, JSON.stringify(fixtures.data[vendor.name], null, 2))) : null);
      });
      document.getElementById("vendor-list").replaceChildren(...cards);
    } catch (error) {
      status("vendors: " + error.message);
    }
  }

  window.SBX.views.vendors = { open: loadVendors };
})();
