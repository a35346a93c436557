/*
 * The admin version editor: CodeMirror with JSON + Jinja highlighting, lint as
 * you type, live preview of the rendered request, save as a new version.
 *
 * Everything goes through the REST API with the admin session (X-CSRFToken):
 *   POST <previewUrl>  {body, variables, model?} -> {lint, blocks, render_error, fields}
 *   POST <versionsUrl> {body, message}           -> 201 | 400 {error: {type, message, details}}
 * Field paths are mapped to editor lines by jsonpaths.js (window.CachetJsonPaths).
 */
(function () {
  "use strict";

  const DEBOUNCE_MS = 400;
  const HEAD_CHARS = 2000;
  const TAIL_CHARS = 500;
  const REDIRECT_MS = 1500;
  const SECTIONS = [
    ["tools", "Tools"],
    ["system", "System"],
    ["messages", "Messages"],
  ];
  const STATUS_TEXT = {
    will_cache: "will cache",
    below_minimum: "will not cache: below the model's minimum",
    over_cache_limit: "will not cache: over the model's cache limit",
    not_cacheable: "will not cache: the model cannot cache here",
  };

  const JP = window.CachetJsonPaths;
  const config = JSON.parse(document.getElementById("editor-config").textContent);
  const $ = (id) => document.getElementById(id);
  const dom = {
    editor: $("editor"),
    variables: $("sample-variables"),
    variablesError: $("variables-error"),
    model: $("model-select"),
    modelNote: $("model-note"),
    lintStatus: $("lint-status"),
    lintSummary: $("lint-summary"),
    lintIssues: $("lint-issues"),
    preview: $("preview"),
    previewMeta: $("preview-meta"),
    prefixVariables: $("prefix-variables"),
    suffixVariables: $("suffix-variables"),
    message: $("change-message"),
    save: $("save-version"),
    saveResult: $("save-result"),
  };
  const csrfToken = document.querySelector("input[name=csrfmiddlewaretoken]")?.value || "";

  const fmt = (n) => window.CachetFormat.count(n);

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === undefined || value === null || value === false) continue;
      if (key === "class") node.className = value;
      else if (key === "text") node.textContent = value;
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value === true ? "" : String(value));
    }
    for (const child of children.flat()) {
      if (child !== null && child !== undefined && child !== false) {
        node.append(child instanceof Node ? child : document.createTextNode(String(child)));
      }
    }
    return node;
  }

  // ---------------------------------------------------------------- editor

  /* Jinja inside JSON strings: an overlay that hands {{ }}, {% %} and {# #} to the
     jinja2 mode and stays out of everything else (a JSON string never spans lines,
     so a tag left open is closed at the end of the line). */
  CodeMirror.defineMode("cachet-jinja-overlay", (cmConfig) => {
    const jinja = CodeMirror.getMode(cmConfig, "jinja2");
    return {
      startState: () => ({ inner: null }),
      copyState: (state) => ({ inner: state.inner && CodeMirror.copyState(jinja, state.inner) }),
      token(stream, state) {
        if (stream.sol()) state.inner = null;
        if (!state.inner) {
          if (stream.match(/^\{[{%#]/, false)) {
            state.inner = CodeMirror.startState(jinja);
          } else {
            stream.next();
            stream.eatWhile(/[^{]/);
            return null;
          }
        }
        const style = jinja.token(stream, state.inner);
        if (!state.inner.intag && !state.inner.incomment) state.inner = null;
        if (style === "tag") return "jinja-delim";
        if (style === "comment") return "jinja-comment";
        return style ? `jinja ${style}` : "jinja";
      },
    };
  });

  CodeMirror.defineMode("cachet-body", (cmConfig) =>
    CodeMirror.overlayMode(
      CodeMirror.getMode(cmConfig, { name: "javascript", json: true }),
      CodeMirror.getMode(cmConfig, "cachet-jinja-overlay"),
      true
    )
  );

  const cm = CodeMirror(dom.editor, {
    value: config.body,
    mode: "cachet-body",
    lineNumbers: true,
    gutters: ["cachet-lint", "CodeMirror-linenumbers"],
    matchBrackets: true,
    styleActiveLine: true,
    indentUnit: 2,
    tabSize: 2,
    indentWithTabs: false,
    lineWrapping: true,
    viewportMargin: 20,
    extraKeys: {
      Tab: (editor) => editor.execCommand(editor.somethingSelected() ? "indentMore" : "insertSoftTab"),
      "Shift-Tab": "indentLess",
      "Ctrl-S": () => save(),
      "Cmd-S": () => save(),
    },
  });
  window.cachetEditor = {
    getValue: () => cm.getValue(),
    setValue: (text) => cm.setValue(String(text)),
    codemirror: cm,
  };

  // ------------------------------------------------------------ scheduling

  let generation = 0; // bumped by every edit; a response for an older one is dropped
  let timer = null;
  let inflight = null;
  let modelTouched = false;
  const expanded = new Set();

  function setReady(ready) {
    dom.preview.dataset.ready = ready ? "true" : "false";
  }

  function schedule() {
    generation++;
    setReady(false);
    clearTimeout(timer);
    timer = setTimeout(run, DEBOUNCE_MS);
  }

  function readVariables() {
    let value;
    try {
      value = JSON.parse(dom.variables.value || "{}");
    } catch (err) {
      return { error: `not valid JSON: ${err.message}` };
    }
    if (value === null || typeof value !== "object" || Array.isArray(value)) {
      return { error: "must be a JSON object {\"name\": value, …}" };
    }
    return { value };
  }

  function readBody() {
    const text = cm.getValue();
    const scanned = JP.scan(text);
    if (!scanned.ok) return { text, scanned, error: scanned.error };
    return { text, scanned, value: JSON.parse(text) };
  }

  /** One lint + preview round: validate locally, then ask the server (latest edit wins). */
  async function run() {
    const mine = generation;
    timer = null;
    if (inflight) inflight.abort();
    try {
      await lintAndPreview(mine);
    } catch (err) {
      if (err.name === "AbortError" || mine !== generation) return;
      showLintStatus("could not check the body", "has-errors");
      setStale(`Preview failed: ${err.message}`);
    } finally {
      // A newer edit owns the flag: only the round for the latest edit may raise it.
      if (mine === generation && timer === null) setReady(true);
    }
  }

  async function lintAndPreview(mine) {
    const body = readBody();
    const variables = readVariables();
    showVariablesError(variables.error);
    followBodyModel(body.value);
    if (body.error) {
      showJsonError(body);
      return;
    }
    if (variables.error) {
      showLintStatus("waiting for valid sample variables", "pending");
      setStale("The sample variables are not valid JSON: the preview is out of date.");
      return;
    }
    const payload = { body: body.value, variables: variables.value };
    if (modelTouched) payload.model = dom.model.value;
    const controller = new AbortController();
    inflight = controller;
    let response;
    try {
      response = await api(config.previewUrl, payload, controller.signal);
    } finally {
      if (inflight === controller) inflight = null;
    }
    if (mine !== generation) return;
    if (response.status === 200) showPreviewResult(body, response.data);
    else showRequestError(body, response);
  }

  async function api(url, payload, signal) {
    const response = await fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: {
        "Content-Type": "application/json",
        Accept: "application/json",
        "X-CSRFToken": csrfToken,
      },
      body: JSON.stringify(payload),
      signal,
    });
    let data = null;
    try {
      data = await response.json();
    } catch (err) {
      data = { error: { type: "http_error", message: `${response.status} ${response.statusText}` } };
    }
    return { status: response.status, data };
  }

  function followBodyModel(body) {
    const model = body && typeof body.model === "string" ? body.model : null;
    dom.model.dataset.bodyModel = model || "";
    const overridden = modelTouched && model && dom.model.value !== model;
    dom.modelNote.textContent = overridden ? `preview only; the body says ${model}` : "";
    if (modelTouched || !model || dom.model.value === model) return;
    if (![...dom.model.options].some((option) => option.value === model)) {
      dom.model.prepend(el("option", { value: model, text: model, "data-added": "true" }));
    }
    dom.model.value = model;
  }

  // ------------------------------------------------------------------ lint

  function issuesFromReport(report) {
    const issues = (report.errors || []).map((issue) => ({ ...issue, severity: "error" }));
    return issues.concat((report.warnings || []).map((issue) => ({ ...issue, severity: "warning" })));
  }

  function duplicateWarnings(body) {
    return (body.scanned.duplicates || []).map((dup) => ({
      code: "duplicate_key",
      path: dup.path,
      offset: dup.offset,
      message: `'${dup.path}' is given twice: only the last one counts`,
      severity: "warning",
    }));
  }

  /** Attach the editor position (line, from, to) of each issue. */
  function placeIssues(body, issues) {
    const position = JP.lineIndex(body.text);
    return issues.map((issue) => {
      let range = null;
      if (issue.offset !== undefined) range = { from: issue.offset, to: issue.offset + 1, exact: true };
      else if (issue.path) range = JP.locate(body.text, body.scanned, issue);
      if (!range) return issue;
      return { ...issue, editorLine: position(range.from).line, from: range.from, to: range.to, exact: range.exact };
    });
  }

  function showLintStatus(text, state) {
    dom.lintStatus.textContent = text;
    dom.lintStatus.className = `lint-status ${state}`;
  }

  function statusText(errors, warnings, note) {
    const parts = [errors ? `${errors} error(s)` : "ok"];
    if (warnings) parts.push(`${warnings} warning(s)`);
    if (note) parts.push(note);
    return parts.join(" · ");
  }

  function showIssues(issues, note, cached) {
    const errors = issues.filter((issue) => issue.severity === "error").length;
    const warnings = issues.length - errors;
    showLintStatus(statusText(errors, warnings, note), errors ? "has-errors" : warnings ? "has-warnings" : "ok");
    dom.lintIssues.replaceChildren(...issues.map(issueItem));
    dom.lintSummary.textContent = issues.length ? "" : "No problems found.";
    markEditor(issues, cached);
  }

  function issueItem(issue) {
    const where = issue.editorLine
      ? el("button", { type: "button", class: "issue-line", text: `line ${issue.editorLine}`, title: "Show in the editor",
        onclick: () => jumpTo(issue) })
      : null;
    return el(
      "li",
      {
        class: `lint-issue ${issue.severity}`,
        "data-code": issue.code,
        "data-line": issue.editorLine || undefined,
        "data-path": issue.path || undefined,
      },
      el("span", { class: "issue-severity", text: issue.severity }),
      el("code", { class: "issue-code", text: issue.code }),
      where,
      issue.path ? el("span", { class: "issue-path", text: issue.path }) : null,
      el("span", { class: "issue-message", text: issue.message })
    );
  }

  function jumpTo(issue) {
    const from = cm.posFromIndex(issue.from);
    cm.focus();
    cm.setSelection(from, cm.posFromIndex(issue.to ?? issue.from));
    cm.scrollIntoView({ from, to: from }, 80);
  }

  const editorMarks = { lines: [], texts: [] };

  function clearEditorMarks() {
    cm.clearGutter("cachet-lint");
    for (const [handle, where, cls] of editorMarks.lines) cm.removeLineClass(handle, where, cls);
    for (const mark of editorMarks.texts) mark.clear();
    editorMarks.lines = [];
    editorMarks.texts = [];
  }

  function addLineClass(line, where, cls) {
    const handle = cm.addLineClass(line, where, cls);
    if (handle) editorMarks.lines.push([handle, where, cls]);
  }

  function markEditor(issues, cachedRanges) {
    cm.operation(() => {
      clearEditorMarks();
      for (const range of cachedRanges || []) {
        for (let line = range.first; line <= range.last; line++) addLineClass(line, "gutter", "cachet-gutter-cached");
      }
      const byLine = new Map();
      for (const issue of issues) {
        if (!issue.editorLine) continue;
        const list = byLine.get(issue.editorLine) || [];
        list.push(issue);
        byLine.set(issue.editorLine, list);
        if (issue.severity === "error" && issue.exact && issue.to > issue.from) {
          editorMarks.texts.push(
            cm.markText(cm.posFromIndex(issue.from), cm.posFromIndex(issue.to), {
              className: "cachet-mark-error",
              title: issue.message,
            })
          );
        }
      }
      for (const [line, list] of byLine) {
        const severity = list.some((issue) => issue.severity === "error") ? "error" : "warning";
        const marker = el("div", {
          class: `cachet-lint-marker ${severity}`,
          title: list.map((issue) => `${issue.code}: ${issue.message}`).join("\n"),
          text: severity === "error" ? "●" : "▲",
        });
        cm.setGutterMarker(line - 1, "cachet-lint", marker);
        addLineClass(line - 1, "background", `cachet-line-${severity}`);
      }
    });
  }

  function showJsonError(body) {
    const position = JP.lineIndex(body.text)(body.error.offset);
    const issue = {
      severity: "error",
      code: "invalid_json",
      path: null,
      message: `Not valid JSON at line ${position.line}, column ${position.column}: ${body.error.message}`,
      editorLine: position.line,
      from: body.error.offset,
      to: Math.min(body.error.offset + 1, body.text.length),
      exact: true,
    };
    showIssues([issue], "invalid JSON");
    setStale("The body is not valid JSON: the preview shows the last valid body.");
  }

  function showRequestError(body, response) {
    const error = (response.data && response.data.error) || { type: "http_error", message: `HTTP ${response.status}` };
    if (error.type === "invalid_body" && Array.isArray(error.details)) {
      const issues = error.details.map((d) => ({ code: "invalid_body", severity: "error", path: d.path, message: d.message }));
      showIssues(placeIssues(body, issues.concat(duplicateWarnings(body))), "invalid body");
      setStale(`The body is malformed: ${error.message}`);
    } else {
      showLintStatus(`preview failed: ${error.type}`, "has-errors");
      setStale(`Preview failed (${response.status}): ${error.message}`);
    }
  }

  // --------------------------------------------------------------- preview

  function setStale(message) {
    dom.preview.classList.add("stale");
    let note = dom.preview.querySelector(".preview-note");
    if (!note) {
      note = el("p", { class: "preview-note errornote" });
      dom.preview.prepend(note);
    }
    note.textContent = message;
  }

  function showPreviewResult(body, result) {
    const report = result.lint || {};
    const issues = placeIssues(body, issuesFromReport(report).concat(duplicateWarnings(body)));
    showIssues(issues, "", cachedRanges(body, result.blocks || []));
    showVariableNames(dom.prefixVariables, report.prefix_variables);
    showVariableNames(dom.suffixVariables, report.suffix_variables);
    const method = report.token_method ? `tokens: ${report.token_method}` : "";
    const basis = report.estimated_with ? ` (${report.estimated_with})` : "";
    dom.previewMeta.textContent = [`model ${report.model || "?"}`, method + basis].filter(Boolean).join(" · ");
    renderPreview(result.blocks || [], result.render_error);
    markBlocks(issues, result.fields || {});
  }

  /** Flag the preview blocks that a lint error or warning points into. */
  function markBlocks(issues, fields) {
    for (const issue of issues) {
      if (!issue.path) continue;
      const blockPath = fields[issue.path] || issue.path;
      const block = [...dom.preview.querySelectorAll(".block")].find((node) => node.dataset.path === blockPath);
      if (block) block.classList.add(issue.severity === "error" ? "has-error" : "has-warning");
    }
  }

  function cachedRanges(body, blocks) {
    const position = JP.lineIndex(body.text);
    const ranges = [];
    for (const block of blocks) {
      if (!block.cached) continue;
      const entry = body.scanned.paths.get(block.path);
      if (!entry) continue;
      const first = position(entry.keyStart ?? entry.start).line - 1;
      ranges.push({ first, last: position(Math.max(entry.start, entry.end - 1)).line - 1 });
    }
    return ranges;
  }

  function showVariableNames(container, names) {
    if (!names || !names.length) {
      container.replaceChildren(el("span", { class: "none", text: "none" }));
      return;
    }
    container.replaceChildren(...names.map((name) => el("code", { class: "variable-name", text: name })));
  }

  function renderPreview(blocks, renderError) {
    const children = [];
    if (renderError) {
      children.push(el("div", { class: "render-error errornote", text: `Does not render: ${renderError.message}` }));
    }
    if (!blocks.length && !renderError) {
      children.push(el("p", { class: "preview-empty", text: "Nothing rendered: fix the template errors listed under Lint." }));
    }
    const lastCached = blocks.reduce((last, block, index) => (block.cached ? index : last), -1);
    for (const [section, title] of SECTIONS) {
      const inSection = blocks.filter((block) => block.section === section);
      if (!inSection.length) continue;
      const nodes = [];
      for (const block of inSection) {
        nodes.push(blockNode(block));
        if (blocks.indexOf(block) === lastCached && lastCached < blocks.length - 1) {
          nodes.push(el("div", { class: "prefix-end", text: "end of the cached prefix" }));
        }
      }
      children.push(el("section", { class: "preview-section", "data-section": section }, el("h3", { text: title }), nodes));
    }
    dom.preview.classList.remove("stale");
    dom.preview.replaceChildren(...children);
  }

  function blockNode(block) {
    const tokens = el("span", { class: "block-tokens", text: `≈${fmt(block.tokens)} tokens` });
    const head = el(
      "div",
      { class: "block-head" },
      el("button", { type: "button", class: "block-path", text: block.path, title: "Show in the editor",
        onclick: () => jumpToPath(block.path) }),
      el("span", { class: `block-role role-${block.role}`, text: block.role }),
      block.cached ? el("span", { class: "cached-tag", text: "cached" }) : null,
      tokens
    );
    const node = el(
      "div",
      { class: block.cached ? "block cached" : "block", "data-path": block.path, "data-section": block.section },
      head,
      textNode(block)
    );
    if (block.checkpoint) node.append(badge(block.checkpoint));
    return node;
  }

  function textNode(block) {
    const text = block.text || "";
    const wrap = el("div", { class: "block-body" });
    const pre = el("pre", { class: "block-text" });
    wrap.append(pre);
    if (text.length <= HEAD_CHARS + TAIL_CHARS) {
      pre.textContent = text;
      if (!text) pre.append(el("span", { class: "empty-text", text: "(empty)" }));
      return wrap;
    }
    const showAll = () => {
      pre.textContent = text;
      button.textContent = "show less";
    };
    const showPart = () => {
      pre.replaceChildren(
        text.slice(0, HEAD_CHARS),
        el("span", { class: "elided", text: `\n… ${fmt(text.length - HEAD_CHARS - TAIL_CHARS)} characters hidden …\n` }),
        text.slice(-TAIL_CHARS)
      );
      button.textContent = `show all ${fmt(text.length)} characters`;
    };
    const button = el("button", {
      type: "button",
      class: "expand",
      onclick: () => {
        if (expanded.has(block.path)) expanded.delete(block.path);
        else expanded.add(block.path);
        (expanded.has(block.path) ? showAll : showPart)();
      },
    });
    (expanded.has(block.path) ? showAll : showPart)();
    wrap.append(button);
    return wrap;
  }

  function badge(checkpoint) {
    const caches = checkpoint.status === "will_cache";
    const fingerprint = (checkpoint.fingerprint || "").replace(/^sha256:/, "").slice(0, 12);
    return el(
      "div",
      {
        class: `checkpoint-badge ${caches ? "will-cache" : "will-not-cache"}`,
        "data-status": checkpoint.status,
        "data-tokens": checkpoint.tokens,
        "data-min-tokens": checkpoint.min_tokens,
        "data-fingerprint": checkpoint.fingerprint,
      },
      el("span", { class: "badge-title", text: `Checkpoint ${checkpoint.ordinal}` }),
      el("span", { class: "badge-tokens", text: `${fmt(checkpoint.tokens)} / ${fmt(checkpoint.min_tokens)} tokens` }),
      el("span", { class: "badge-ttl", text: `TTL ${checkpoint.ttl || "5m"}` }),
      el("code", { class: "badge-fingerprint", title: checkpoint.fingerprint, text: fingerprint }),
      el("span", { class: "badge-status", text: STATUS_TEXT[checkpoint.status] || `will not cache: ${checkpoint.status}` })
    );
  }

  function jumpToPath(path) {
    const body = readBody();
    if (body.error) return;
    const range = JP.locate(body.text, body.scanned, { path });
    if (range) jumpTo(range);
  }

  function showVariablesError(message) {
    dom.variablesError.hidden = !message;
    dom.variablesError.textContent = message ? `Sample variables ${message}` : "";
    dom.variables.classList.toggle("invalid", Boolean(message));
  }

  // ------------------------------------------------------------------ save

  let saving = false;

  function showSaveResult(state, ...children) {
    dom.saveResult.className = state ? `save-result ${state}` : "save-result";
    dom.saveResult.replaceChildren(...children);
  }

  async function save() {
    if (saving) return;
    const body = readBody();
    if (body.error) {
      showJsonError(body);
      showSaveResult("error", `Not saved: the body is not valid JSON (${body.error.message}).`);
      return;
    }
    // #save-result stays empty until the answer: a message in it means the save is over.
    saving = true;
    const label = dom.save.textContent;
    dom.save.disabled = true;
    dom.save.textContent = "Saving…";
    showSaveResult("");
    delete dom.saveResult.dataset.version;
    delete dom.saveResult.dataset.errorType;
    let response;
    try {
      response = await api(config.versionsUrl, { body: body.value, message: dom.message.value });
    } catch (err) {
      showSaveResult("error", `Not saved: ${err.message}`);
      return;
    } finally {
      saving = false;
      dom.save.disabled = false;
      dom.save.textContent = label;
    }
    if (response.status === 201) {
      const number = response.data.version;
      showSaveResult(
        "success",
        `Saved version ${number}. `,
        el("a", { href: config.changeUrl, text: "Back to the template" }),
        " · ",
        el("a", { href: `${config.editorUrl}?from=${number}`, text: `edit version ${number}` })
      );
      dom.saveResult.dataset.version = number;
      setTimeout(() => window.location.assign(config.changeUrl), REDIRECT_MS);
      return;
    }
    const error = (response.data && response.data.error) || { type: "http_error", message: `HTTP ${response.status}` };
    showSaveResult("error", `Not saved: ${error.message}`);
    dom.saveResult.dataset.errorType = error.type;
    if (error.type === "lint_failed" && error.details) {
      showIssues(placeIssues(body, issuesFromReport(error.details).concat(duplicateWarnings(body))));
    } else if (error.type === "invalid_body" && Array.isArray(error.details)) {
      showRequestError(body, response);
    }
  }

  // ------------------------------------------------------------------ wire

  cm.on("change", schedule);
  dom.variables.addEventListener("input", schedule);
  dom.model.addEventListener("change", () => {
    modelTouched = dom.model.value !== dom.model.dataset.bodyModel;
    followBodyModel(readBody().value);
    schedule();
  });
  dom.save.addEventListener("click", save);
  dom.message.addEventListener("keydown", (event) => {
    if (event.key === "Enter") {
      event.preventDefault();
      save();
    }
  });
  generation++;
  run();
})();
