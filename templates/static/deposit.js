// The deposit form (/deposit/): built from the study model's JSON Schema in
// /deposit/form.json, checked with the rules of `catalogue validate` that can run here,
// and turned into a study.yaml to download, copy or propose as a pull request.
// Optionally a dataset's file list (path, size, sha256) from a folder picked in the
// browser, hashed in a Web Worker (deposit-worker.js). Nothing is sent anywhere.
"use strict";

(function () {
  const form = document.getElementById("deposit-form");
  if (!form) return;
  let config = null;
  let root = null; // the controller of the whole study
  let uid = 0;

  // --- small helpers -------------------------------------------------------------------

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === undefined || value === null || value === false) continue;
      if (key === "text") node.textContent = value;
      else node.setAttribute(key, value === true ? "" : value);
    }
    for (const child of children) if (child) node.append(child);
    return node;
  }

  const LABELS = {
    orcid: "ORCID", ror: "ROR id", doi: "DOI", pmid: "PubMed id", url: "URL",
    fbbi: "FBbi id", ncbi_taxon: "NCBI Taxonomy id", id: "Id", grant_id: "Grant id",
  };

  function words(name) {
    if (LABELS[name]) return LABELS[name];
    const text = String(name).replace(/_/g, " ");
    return text.charAt(0).toUpperCase() + text.slice(1);
  }

  function singular(name) {
    const special = { analyses: "analysis", biosamples: "biosample", funding: "funder" };
    if (special[name]) return special[name];
    return name.endsWith("s") ? name.slice(0, -1).replace(/_/g, " ") : name.replace(/_/g, " ");
  }

  function hintFor(path) {
    const generic = path.replace(/\.\d+(?=\.|$)/g, ".*");
    const hints = config.hints || {};
    if (hints[generic]) return hints[generic];
    // map entries: biosamples.<name>.x -> biosamples.*.x
    const parts = generic.split(".");
    for (let i = 1; i < parts.length; i++) {
      const trial = parts.map((p, j) => (j === i ? "*" : p)).join(".");
      if (hints[trial]) return hints[trial];
    }
    return "";
  }

  function resolve(node) {
    let optional = false;
    let current = node;
    for (let guard = 0; guard < 10; guard++) {
      if (current.$ref) {
        current = { ...config.schema.$defs[current.$ref.split("/").pop()], title: current.title || undefined };
        continue;
      }
      if (current.anyOf) {
        const others = current.anyOf.filter((b) => b.type !== "null");
        optional = optional || others.length < current.anyOf.length;
        current = { ...others[0], title: current.title || others[0].title };
        continue;
      }
      break;
    }
    return { node: current, optional };
  }

  function kindOf(node) {
    if (node.type === "object" && node.properties) return "object";
    if (node.type === "object" && node.additionalProperties && typeof node.additionalProperties === "object") {
      const inner = resolve(node.additionalProperties).node;
      return inner.properties ? "map" : "freemap";
    }
    if (node.type === "array") {
      const items = resolve(node.items || {}).node;
      return items.properties ? "list" : "strings";
    }
    if (node.type === "integer" || node.type === "number") return "integer";
    if (node.format === "date") return "date";
    return "string";
  }

  const isEmpty = (v) =>
    v === undefined || v === null || v === "" ||
    (Array.isArray(v) && v.length === 0) ||
    (typeof v === "object" && !Array.isArray(v) && Object.keys(v).length === 0);

  // --- controls: each returns {el, get()} -------------------------------------------------

  function control(node, path, name, value, required) {
    const { node: schema } = resolve(node);
    const kind = kindOf(schema);
    if (kind === "object") return objectControl(schema, path, name, value || {});
    if (kind === "map") return mapControl(schema, path, name, value || {});
    if (kind === "list") return listControl(schema, path, name, value || [], required);
    if (kind === "freemap") return null; // free-form fields (extra) are not offered
    return fieldControl(schema, kind, path, name, value, required);
  }

  function fieldControl(schema, kind, path, name, value, required) {
    const id = `f${++uid}`;
    const label = el("label", { for: id, text: words(name) + (required ? " (required)" : "") });
    const hint = hintFor(path);
    const hintId = hint ? `${id}-hint` : null;
    let input;
    if (path === "license") {
      input = el("select", { id, "data-path": path, "aria-describedby": hintId });
      input.append(el("option", { value: "", text: "Choose a licence" }));
      for (const l of config.licences) input.append(el("option", { value: l, text: l }));
    } else if (path === "collection") {
      input = el("select", { id, "data-path": path, "aria-describedby": hintId });
      for (const c of config.collections) input.append(el("option", { value: c.key, text: c.title }));
      if (value === undefined && config.collections.some((c) => c.key === "direct")) value = "direct";
    } else if (name === "description" || name === "parameters" || name === "preparation") {
      input = el("textarea", { id, rows: path === "description" ? 6 : 3, "data-path": path, "aria-describedby": hintId });
    } else {
      input = el("input", {
        id,
        type: kind === "date" ? "date" : "text",
        inputmode: kind === "integer" ? "numeric" : undefined,
        "data-path": path,
        "aria-describedby": hintId,
        autocomplete: name === "email" ? "email" : "off",
      });
    }
    if (value !== undefined && value !== null) {
      input.value = kind === "strings" ? [].concat(value).join(", ") : String(value);
    }
    const wrap = el("div", { class: "field" }, label, input);
    if (hint) wrap.append(el("small", { id: hintId, class: "hint", text: hint }));
    return {
      el: wrap,
      get() {
        const text = input.value.trim();
        if (kind === "strings") {
          const items = text.split(",").map((s) => s.trim()).filter(Boolean);
          return items.length ? items : undefined;
        }
        if (text === "") return undefined;
        if (kind === "integer" && /^-?\d+$/.test(text)) return Number(text);
        return text;
      },
    };
  }

  function objectControl(schema, path, name, value) {
    const children = [];
    const box = path ? el("fieldset", {}, el("legend", { text: words(name) })) : el("div");
    const order = schema["x-order"] || Object.keys(schema.properties);
    const required = new Set(schema.required || []);
    for (const key of order) {
      const childPath = path ? `${path}.${key}` : key;
      const child = control(schema.properties[key], childPath, key, value[key], required.has(key));
      if (!child) continue;
      children.push([key, child]);
      box.append(child.el);
    }
    return {
      el: box,
      get() {
        const out = {};
        for (const [key, child] of children) {
          const v = child.get();
          if (!isEmpty(v)) out[key] = v;
        }
        return out;
      },
    };
  }

  function listControl(schema, path, name, value, required) {
    const itemSchema = schema.items;
    const box = el("fieldset", { class: "repeat", "data-path": path }, el("legend", { text: words(name) }));
    const hint = hintFor(path);
    if (hint) box.append(el("p", { class: "hint", text: hint }));
    const list = el("div");
    const items = [];
    const minimum = schema.minItems || (required && name === "authors" ? 1 : 0);
    function add(v) {
      const index = items.length;
      const child = control(itemSchema, `${path}.${index}`, `${singular(name)} ${index + 1}`, v || {}, false);
      const entry = el("div", { class: "entry" }, child.el);
      const remove = el("button", { type: "button", class: "remove", text: `Remove ${singular(name)} ${index + 1}` });
      remove.addEventListener("click", () => {
        const at = items.indexOf(record);
        items.splice(at, 1);
        rerender();
      });
      entry.append(remove);
      const record = { child, entry };
      items.push(record);
      list.append(entry);
    }
    function rerender() {
      const values = items.map((r) => r.child.get() || {});
      items.length = 0;
      list.replaceChildren();
      values.forEach(add);
    }
    (value.length ? value : Array(minimum).fill({})).forEach(add);
    const more = el("button", { type: "button", class: "add", text: `Add ${singular(name)}` });
    more.addEventListener("click", () => add({}));
    box.append(list, more);
    return {
      el: box,
      get() {
        const out = items.map((r) => r.child.get()).filter((v) => !isEmpty(v));
        return out.length ? out : undefined;
      },
    };
  }

  function mapControl(schema, path, name, value) {
    const valueSchema = schema.additionalProperties;
    const box = el("fieldset", { class: "repeat", "data-path": path }, el("legend", { text: words(name) }));
    const hint = hintFor(path);
    if (hint) box.append(el("p", { class: "hint", text: hint }));
    const list = el("div");
    const entries = [];
    function add(key, v) {
      const id = `f${++uid}`;
      const keyInput = el("input", { id, type: "text", value: key || "", "data-path": `${path}.*name` });
      const child = control(valueSchema, `${path}.${key || "*"}`, singular(name), v || {}, false);
      const entry = el(
        "div",
        { class: "entry" },
        el("div", { class: "field" }, el("label", { for: id, text: `Name of this ${singular(name)} (datasets refer to it)` }), keyInput),
        child.el,
      );
      const remove = el("button", { type: "button", class: "remove", text: `Remove this ${singular(name)}` });
      const record = { keyInput, child, entry };
      remove.addEventListener("click", () => {
        entries.splice(entries.indexOf(record), 1);
        entry.remove();
      });
      entry.append(remove);
      entries.push(record);
      list.append(entry);
    }
    for (const [key, v] of Object.entries(value)) add(key, v);
    const more = el("button", { type: "button", class: "add", text: `Add ${singular(name)}` });
    more.addEventListener("click", () => add("", {}));
    box.append(list, more);
    return {
      el: box,
      get() {
        const out = {};
        for (const r of entries) {
          const key = r.keyInput.value.trim();
          const v = r.child.get();
          if (!key && isEmpty(v)) continue;
          out[key || ""] = v || {};
        }
        return Object.keys(out).length ? out : undefined;
      },
    };
  }

  // --- checks: the rules of catalogue validate that can run in the browser -------------------

  function orcidChecksumOk(orcid) {
    const digits = orcid.replace(/-/g, "");
    let total = 0;
    for (const ch of digits.slice(0, -1)) total = (total + Number(ch)) * 2;
    const check = (12 - (total % 11)) % 11;
    return digits.slice(-1) === (check === 10 ? "X" : String(check));
  }

  function validDate(text) {
    if (!/^\d{4}-\d{2}-\d{2}$/.test(text)) return false;
    const d = new Date(`${text}T00:00:00Z`);
    return !Number.isNaN(d.getTime()) && d.toISOString().slice(0, 10) === text;
  }

  function check(study) {
    const problems = [];
    const add = (code, path, message) => problems.push({ code, path, message });
    const re = (name) => new RegExp(config.patterns[name].replace(/\\Z$/, "$"));
    // required fields and shapes, from the schema
    (function walk(node, value, path) {
      const { node: schema } = resolve(node);
      const kind = kindOf(schema);
      if (kind === "object") {
        for (const key of schema.required || []) {
          if (isEmpty(value ? value[key] : undefined)) add("E010", path ? `${path}.${key}` : key, "field required");
        }
        for (const [key, v] of Object.entries(value || {})) {
          if (schema.properties[key]) walk(schema.properties[key], v, path ? `${path}.${key}` : key);
        }
      } else if (kind === "map") {
        for (const [key, v] of Object.entries(value || {})) {
          if (!key) add("E010", path, `every ${singular(path.split(".").pop())} needs a name`);
          walk(schema.additionalProperties, v, `${path}.${key}`);
        }
      } else if (kind === "list") {
        (value || []).forEach((v, i) => walk(schema.items, v, `${path}.${i}`));
        if (schema.minItems && (value || []).length < schema.minItems) add("E010", path, `at least ${schema.minItems} needed`);
      } else if (kind === "integer" && value !== undefined && typeof value !== "number") {
        add("E012", path, `${JSON.stringify(value)} is not a whole number`);
      } else if (kind === "integer" && typeof value === "number" && schema.exclusiveMinimum !== undefined && value <= schema.exclusiveMinimum) {
        add("E012", path, `must be greater than ${schema.exclusiveMinimum}`);
      } else if (kind === "date" && value !== undefined && !validDate(String(value))) {
        add("E013", path, `${JSON.stringify(value)} is not a date of the form YYYY-MM-DD`);
      }
    })(config.schema, study, "");
    if (study.accession && !re("accession").test(study.accession)) {
      add("E030", "accession", `accession ${JSON.stringify(study.accession)} is not of the form ${config.accession_prefix}123`);
    }
    if (study.license && !config.licences.includes(study.license)) {
      add("E014", "license", `license ${JSON.stringify(study.license)} is not an allowed SPDX id`);
    }
    if (study.collection && !config.collections.some((c) => c.key === study.collection)) {
      add("E017", "collection", `collection ${JSON.stringify(study.collection)} is not defined in site.yaml`);
    }
    const affiliations = Object.keys(study.affiliations || {});
    (study.authors || []).forEach((a, i) => {
      if (a.orcid) {
        const orcid = a.orcid.replace(/^https:\/\/orcid\.org\//, "");
        if (!re("orcid").test(orcid)) add("E015", `authors.${i}.orcid`, `ORCID ${JSON.stringify(orcid)} is not of the form 0000-0000-0000-000X`);
        else if (!orcidChecksumOk(orcid)) add("E015", `authors.${i}.orcid`, `ORCID ${JSON.stringify(orcid)} has a wrong check digit`);
      }
      (a.affiliations || []).forEach((key, j) => {
        if (!affiliations.includes(key)) add("E020", `authors.${i}.affiliations`, `author '${a.name || i + 1}' refers to undefined affiliation '${key}'`);
        void j;
      });
    });
    for (const [key, aff] of Object.entries(study.affiliations || {})) {
      if (aff.ror && !/^https?:\/\/\S+$/i.test(aff.ror)) add("E012", `affiliations.${key}.ror`, `${JSON.stringify(aff.ror)} is not an http(s) URL`);
    }
    (study.publications || []).forEach((p, i) => {
      if (p.doi) {
        const doi = p.doi.replace(/^(https?:\/\/(dx\.)?doi\.org\/|doi:)/i, "");
        if (!re("doi").test(doi)) add("E016", `publications.${i}.doi`, `DOI ${JSON.stringify(doi)} is not of the form 10.NNNN/suffix`);
      }
      if (p.url && !/^https?:\/\/\S+$/i.test(p.url)) add("E012", `publications.${i}.url`, `${JSON.stringify(p.url)} is not an http(s) URL`);
    });
    for (const [key, acq] of Object.entries(study.image_acquisitions || {})) {
      (acq.imaging_method || []).forEach((m, i) => {
        if (m.fbbi && !re("fbbi").test(m.fbbi)) add("E018", `image_acquisitions.${key}.imaging_method.${i}.fbbi`, `FBbi id ${JSON.stringify(m.fbbi)} is not of the form FBbi:00000000`);
      });
    }
    const sections = {
      biosample: "biosamples", specimen: "specimens", image_acquisition: "image_acquisitions",
      annotation: "annotations", analysis: "analyses",
    };
    const seen = new Set();
    (study.datasets || []).forEach((ds, i) => {
      if (ds.id !== undefined) {
        if (!re("dataset_id").test(ds.id)) add("E012", `datasets.${i}.id`, `dataset id ${JSON.stringify(ds.id)} must be 1 to 64 lower-case letters, digits, '-' or '_'`);
        if (seen.has(ds.id)) add("E021", `datasets.${i}.id`, `dataset id '${ds.id}' is used twice`);
        seen.add(ds.id);
      }
      for (const [field, section] of Object.entries(sections)) {
        const defined = Object.keys(study[section] || {});
        for (const ref of ds[field] || []) {
          if (!defined.includes(ref)) add("E020", `datasets.${i}.${field}`, `dataset '${ds.id}' refers to undefined ${field} '${ref}'`);
        }
      }
      if (ds.files && (ds.files.includes("/") || ds.files.startsWith(".") || !ds.files.endsWith(".tsv"))) {
        add("E043", `datasets.${i}.files`, `files ${JSON.stringify(ds.files)} must be the name of a .tsv file in the study folder`);
      }
    });
    (function placeholders(value, path) {
      if (typeof value === "string" && value.trim().startsWith(config.todo_prefix)) add("E080", path, `fill in this placeholder (${value})`);
      else if (Array.isArray(value)) value.forEach((v, i) => placeholders(v, `${path}.${i}`));
      else if (value && typeof value === "object") for (const [k, v] of Object.entries(value)) placeholders(v, path ? `${path}.${k}` : k);
    })(study, "");
    return problems;
  }

  // --- study.yaml ----------------------------------------------------------------------------

  function yamlKey(key) {
    return /^[A-Za-z_][A-Za-z0-9_-]*$/.test(key) ? key : JSON.stringify(key);
  }

  const RESERVED = new Set(["true", "false", "yes", "no", "on", "off", "null", "y", "n", "~"]);

  function yamlScalar(value, key) {
    if (typeof value === "number" || typeof value === "boolean") return String(value);
    if (key === "release_date" && validDate(value)) return value;
    // plain when YAML can only read it as this very string (also inside [a, b]), else
    // double-quoted (a JSON string is a YAML string)
    if (/^[A-Za-z][A-Za-z0-9 ._()-]*$/.test(value) && !/\s$/.test(value) && !RESERVED.has(value.toLowerCase())) {
      return value;
    }
    return JSON.stringify(value);
  }

  function blockText(value, pad) {
    // multi-line text as a literal block, when it can be written back exactly
    if (!value.includes("\n") || /^\s/.test(value) || /[\t\r\u0000-\u0008\u000b-\u001f\u007f\u2028\u2029]/.test(value) || /\s$/.test(value) || / \n/.test(value)) return null;
    return ["|-", ...value.split("\n").map((line) => (line ? `${pad}  ${line}` : ""))];
  }

  function emitMapping(obj, indent, order) {
    const pad = " ".repeat(indent);
    const lines = [];
    const keys = order ? order.filter((k) => k in obj).concat(Object.keys(obj).filter((k) => !order.includes(k))) : Object.keys(obj);
    for (const key of keys) {
      const value = obj[key];
      const head = `${pad}${yamlKey(key)}:`;
      if (value && typeof value === "object" && !Array.isArray(value) && isEmpty(value)) {
        lines.push(`${head} {}`); // a named REMBI section with nothing filled in yet
        continue;
      }
      if (isEmpty(value)) continue;
      if (Array.isArray(value)) {
        if (value.every((v) => typeof v !== "object")) {
          lines.push(`${head} [${value.map((v) => yamlScalar(v)).join(", ")}]`);
        } else {
          lines.push(head);
          for (const item of value) {
            const inner = emitMapping(item, indent + 4);
            inner[0] = `${pad}  - ${inner[0].trimStart()}`;
            lines.push(...inner);
          }
        }
      } else if (typeof value === "object") {
        lines.push(head, ...emitMapping(value, indent + 2));
      } else if (typeof value === "string" && blockText(value, pad)) {
        const [indicator, ...rest] = blockText(value, pad);
        lines.push(`${head} ${indicator}`, ...rest);
      } else {
        lines.push(`${head} ${yamlScalar(value, key)}`);
      }
    }
    return lines;
  }

  function toYaml(study) {
    const header = [
      `# Study ${study.accession}, written by the deposit form of this archive.`,
      "# Check it with `catalogue validate`; the format is described in docs/content-format.md.",
      "format: 1",
    ];
    return header.concat(emitMapping(study, 0, config.schema["x-order"])).join("\n") + "\n";
  }

  // --- the page -------------------------------------------------------------------------------

  function render(value) {
    root = objectControl(config.schema, "", "study", value);
    document.getElementById("deposit-fields").replaceChildren(root.el);
    refreshDatasets();
  }

  function templatePicker() {
    const box = document.getElementById("deposit-template");
    const select = el("select", { id: "template-choice" }, el("option", { value: "", text: "None (start empty)" }));
    for (const [key, t] of Object.entries(config.templates)) select.append(el("option", { value: key, text: t.label }));
    const apply = el("button", { type: "button", id: "template-apply", text: "Use this template" });
    apply.addEventListener("click", () => {
      const template = config.templates[select.value];
      if (!template) return;
      const current = root.get();
      render({ ...current, ...JSON.parse(JSON.stringify(template.study)) });
      document.getElementById("deposit-summary").textContent = "";
    });
    box.append(
      el("h2", { text: "Start from a REMBI template" }),
      el("p", { text: "Each imaging modality has its own REMBI sections: a template fills them in for you to complete (it replaces the REMBI sections and datasets below)." }),
      el("p", {}, el("label", { for: "template-choice", text: "Imaging modality " }), select, " ", apply),
    );
  }

  function showProblems(problems) {
    const list = document.getElementById("deposit-problems");
    list.replaceChildren();
    for (const p of problems) {
      const text = `${p.code} ${p.path}: ${p.message}`;
      const target = form.querySelector(`[data-path="${CSS.escape(p.path)}"]`);
      if (target) {
        const link = el("a", { href: `#${target.id || ""}`, text });
        link.addEventListener("click", (e) => {
          e.preventDefault();
          (target.matches("input, select, textarea") ? target : target.querySelector("input, select, textarea, button") || target).focus();
        });
        list.append(el("li", {}, link));
      } else {
        list.append(el("li", { text }));
      }
    }
  }

  function produce() {
    const study = root.get();
    const problems = check(study);
    const result = document.getElementById("deposit-result");
    const output = document.getElementById("deposit-output");
    result.hidden = false;
    showProblems(problems);
    const summary = document.getElementById("deposit-summary");
    if (problems.length) {
      output.hidden = true;
      summary.textContent = `${problems.length} problem${problems.length === 1 ? "" : "s"} to fix before the study validates:`;
      result.scrollIntoView({ block: "start" });
      return;
    }
    const yaml = toYaml(study);
    summary.textContent = "No problems found: the study.yaml below passes the checks that run here.";
    output.hidden = false;
    document.getElementById("deposit-yaml").value = yaml;
    const download = document.getElementById("deposit-download");
    if (download.href.startsWith("blob:")) URL.revokeObjectURL(download.href);
    download.href = URL.createObjectURL(new Blob([yaml], { type: "application/yaml" }));
    const pr = document.getElementById("deposit-pr");
    const repo = config.repository;
    const path = `studies/${study.accession}/study.yaml`;
    if (repo) {
      const file = repo.content_path ? `${repo.content_path}/${path}` : path;
      pr.href = `${repo.url}/new/${encodeURIComponent(repo.branch)}?filename=${encodeURIComponent(file)}&value=${encodeURIComponent(yaml)}`;
      pr.hidden = false;
    }
    document.getElementById("deposit-next").textContent =
      `Save it as ${path} in the archive's content folder, with the file lists of its datasets beside it, and run catalogue validate.`;
    result.scrollIntoView({ block: "start" });
  }

  function copy() {
    const area = document.getElementById("deposit-yaml");
    const done = () => { document.getElementById("deposit-copy").textContent = "Copied"; };
    if (navigator.clipboard && navigator.clipboard.writeText) {
      navigator.clipboard.writeText(area.value).then(done, () => { area.select(); });
    } else {
      area.select();
    }
  }

  // --- file list from a folder, hashed in a worker ---------------------------------------------

  const ZARR_METADATA = new Set([".zattrs", ".zgroup", ".zarray", ".zmetadata"]);
  // the image-header columns of `catalogue add-files` (catalogue/imaging/harvest.py), in
  // its order; the worker fills those a TIFF, PNG or JPEG header states
  const HEADER_COLUMNS = ["SizeX", "SizeY", "SizeZ", "SizeC", "SizeT", "PixelType",
    "PhysicalSizeX", "PhysicalSizeXUnit", "PhysicalSizeY", "PhysicalSizeYUnit",
    "PhysicalSizeZ", "PhysicalSizeZUnit"];
  const PREVIEW_ROWS = 20;

  function refreshDatasets() {
    const select = document.getElementById("files-dataset");
    const current = select.value;
    const ids = ((root && root.get().datasets) || []).map((d) => d.id).filter(Boolean);
    select.replaceChildren(...ids.map((id) => el("option", { value: id, text: id })));
    if (!ids.length) select.append(el("option", { value: "", text: "add a dataset with an id first" }));
    if (ids.includes(current)) select.value = current;
  }

  function human(bytes) {
    const units = ["B", "kB", "MB", "GB", "TB"];
    let n = bytes;
    let u = 0;
    while (n >= 1000 && u < units.length - 1) { n /= 1000; u++; }
    return u ? `${n.toFixed(1)} ${units[u]}` : `${n} B`;
  }

  function listFolder(files) {
    const kept = [];
    const skipped = [];
    for (const file of files) {
      const parts = (file.webkitRelativePath || file.name).split("/");
      const rel = parts.length > 1 ? parts.slice(1) : parts;
      const hidden = rel.findIndex((p, i) => p.startsWith(".") && !(ZARR_METADATA.has(p) && rel.slice(0, i).some((q) => q.toLowerCase().endsWith(".zarr"))));
      const path = rel.join("/");
      if (hidden >= 0) skipped.push(`${path}: hidden file or folder (name starts with '.'): not included`);
      else if (/[\u0000-\u001f\u007f\\]/.test(path)) skipped.push(`${path}: control character or backslash in the name: not included`);
      else kept.push({ path, file });
    }
    kept.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    return { kept, skipped };
  }

  function preview(head, rows) {
    // the first rows of the file list as a table, header columns included
    const table = document.getElementById("files-preview");
    const caption = el("caption", { text: rows.length > PREVIEW_ROWS ? `The first ${PREVIEW_ROWS} of ${rows.length} files` : `${rows.length} file${rows.length === 1 ? "" : "s"}` });
    const thead = el("thead");
    const tr = el("tr");
    for (const h of head) tr.append(el("th", { text: h, scope: "col" }));
    thead.append(tr);
    const tbody = el("tbody");
    for (const r of rows.slice(0, PREVIEW_ROWS)) {
      const row = el("tr");
      r.forEach((v, i) => row.append(el("td", { text: i === 2 ? `${v.slice(0, 12)}…` : v, title: i === 2 ? v : undefined })));
      tbody.append(row);
    }
    table.replaceChildren(caption, thead, tbody);
    table.hidden = false;
  }

  function hashFolder(files) {
    const dataset = document.getElementById("files-dataset").value;
    const status = document.getElementById("files-status");
    const bar = document.getElementById("files-progress");
    const skippedList = document.getElementById("files-skipped");
    const link = document.getElementById("files-download");
    if (!dataset) { status.textContent = "Give a dataset an id first, then pick its folder."; return; }
    const { kept, skipped } = listFolder(files);
    skippedList.replaceChildren(...skipped.map((s) => el("li", { text: s })));
    const total = kept.reduce((n, k) => n + k.file.size, 0);
    bar.hidden = false;
    bar.max = Math.max(1, total);
    bar.value = 0;
    link.hidden = true;
    const worker = new Worker(form.dataset.worker);
    const digests = new Array(kept.length);
    const headers = new Array(kept.length);
    let done = 0;
    let bytes = 0;
    let partial = 0;
    const started = performance.now();
    const show = () => {
      const seconds = Math.max(0.001, (performance.now() - started) / 1000);
      const rate = (bytes + partial) / seconds;
      const left = rate > 0 ? Math.round((total - bytes - partial) / rate) : 0;
      bar.value = bytes + partial;
      status.textContent = `Hashing: ${done} of ${kept.length} files, ${human(bytes + partial)} of ${human(total)}, ${human(rate)}/s` + (done < kept.length ? `, about ${left} s left` : "");
    };
    const next = () => {
      if (done === kept.length) return finish();
      worker.postMessage({ id: done, file: kept[done].file });
    };
    worker.onmessage = (event) => {
      const m = event.data;
      if (m.progress !== undefined) { partial = m.progress; show(); return; }
      if (m.error) skippedList.append(el("li", { text: `${kept[m.id].path}: cannot be read (${m.error}): not included` }));
      digests[m.id] = m.sha256 || null;
      headers[m.id] = m.header || {};
      bytes += kept[m.id].file.size;
      partial = 0;
      done++;
      show();
      next();
    };
    function finish() {
      worker.terminate();
      const columns = HEADER_COLUMNS.filter((c) => headers.some((h) => h && h[c] !== undefined));
      const clean = (v) => String(v ?? "").replace(/[\t\r\n]/g, " ");
      const rows = [];
      kept.forEach((k, i) => {
        if (digests[i]) rows.push([k.path, String(k.file.size), digests[i], ...columns.map((c) => clean(headers[i][c]))]);
      });
      const head = ["path", "size", "sha256", ...columns];
      const lines = [head.join("\t"), ...rows.map((r) => r.join("\t"))];
      const count = rows.length;
      preview(head, rows);
      const name = `${dataset}.files.tsv`;
      const tsv = lines.join("\n") + "\n";
      if (link.href.startsWith("blob:")) URL.revokeObjectURL(link.href);
      link.href = URL.createObjectURL(new Blob([tsv], { type: "text/tab-separated-values" }));
      link.download = name;
      link.textContent = `Download ${name} (${count} files)`;
      link.hidden = false;
      link.dataset.tsv = tsv;
      status.textContent = `Done: ${count} files, ${human(total)} hashed` + (skipped.length ? `; ${skipped.length} left out (listed below)` : "") + `. The dataset's "files" is set to ${name}.`;
      const index = (root.get().datasets || []).findIndex((d) => d.id === dataset);
      const input = form.querySelector(`[data-path="datasets.${index}.files"]`);
      if (input) input.value = name;
    }
    show();
    next();
  }

  // --- start ----------------------------------------------------------------------------------

  fetch(form.dataset.config)
    .then((r) => {
      if (!r.ok) throw new Error(`HTTP ${r.status}`);
      return r.json();
    })
    .then((cfg) => {
      config = cfg;
      document.getElementById("deposit-loading").remove();
      templatePicker();
      render({});
      document.getElementById("deposit-files").hidden = false;
      const select = document.getElementById("files-dataset");
      select.addEventListener("focus", refreshDatasets);
      select.addEventListener("pointerdown", refreshDatasets);
      document.getElementById("files-folder").addEventListener("change", (e) => {
        refreshDatasets();
        hashFolder(Array.from(e.target.files));
      });
      form.addEventListener("submit", (e) => {
        e.preventDefault();
        produce();
      });
      document.getElementById("deposit-copy").addEventListener("click", copy);
    })
    .catch((err) => {
      const p = document.getElementById("deposit-loading");
      if (p) p.textContent = `The form could not be loaded (${err.message}).`;
    });
})();
