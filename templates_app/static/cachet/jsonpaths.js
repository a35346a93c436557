/*
 * Where is `messages[0].content[1].text` in this JSON text?
 *
 * A small strict JSON tokenizer that records, for every value, its path (the
 * server's spelling: `key.sub[2].text`) and its offsets in the text, and helpers
 * that turn a lint issue (path + line inside a Jinja field) into an offset and a
 * line of the editor text. No DOM here, so it can be unit-tested under node:
 *   const JP = require("./jsonpaths.js");
 *
 * Browser: window.CachetJsonPaths. Plain ES2020, no dependencies.
 */
(function (root, factory) {
  "use strict";
  const api = factory();
  if (typeof module === "object" && module.exports) module.exports = api;
  else root.CachetJsonPaths = api;
})(typeof self !== "undefined" ? self : this, function () {
  "use strict";

  class JsonSyntaxError extends Error {
    constructor(message, offset) {
      super(message);
      this.offset = offset;
    }
  }

  const WS = new Set([" ", "\t", "\n", "\r"]);
  const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
  const describe = (ch) => (ch === undefined ? "end of text" : JSON.stringify(ch));

  function childPath(parent, key) {
    if (typeof key === "number") return `${parent}[${key}]`;
    return parent ? `${parent}.${key}` : key;
  }

  /**
   * Tokenize `text` as JSON. Returns {ok: true, paths, duplicates} where paths
   * is a Map path -> {start, end, keyStart, type} ("" is the root; a later
   * duplicate key wins, like JSON.parse) and duplicates lists {path, offset} of
   * keys given twice in one object; or {ok: false, error: {message, offset}}.
   */
  function scan(text) {
    const paths = new Map();
    const duplicates = [];
    let pos = 0;

    const skipWs = () => {
      while (pos < text.length && WS.has(text[pos])) pos++;
    };
    const fail = (message) => {
      throw new JsonSyntaxError(message, pos);
    };
    const expect = (ch, what) => {
      skipWs();
      if (text[pos] !== ch) fail(`expected ${what}, found ${describe(text[pos])}`);
      pos++;
    };

    function stringEnd(start) {
      // `start` is the opening quote; returns the offset just past the closing one.
      let i = start + 1;
      for (;;) {
        const ch = text[i];
        if (ch === undefined) {
          pos = start;
          fail("unterminated string");
        }
        if (ch === '"') return i + 1;
        if (ch === "\\") {
          const next = text[i + 1];
          if (next === "u") {
            if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) {
              pos = i;
              fail("invalid \\u escape in string");
            }
            i += 6;
          } else if (next !== undefined && '"\\/bfnrt'.includes(next)) {
            i += 2;
          } else {
            pos = i;
            fail(`invalid escape ${describe("\\" + (next ?? ""))} in string`);
          }
        } else if (ch < " ") {
          pos = i;
          fail(ch === "\n" ? "line break inside a string (write \\n)" : "control character in string");
        } else {
          i++;
        }
      }
    }

    function value(path, keyStart) {
      skipWs();
      const start = pos;
      const ch = text[pos];
      let type;
      if (ch === "{") {
        type = "object";
        pos++;
        object(path);
      } else if (ch === "[") {
        type = "array";
        pos++;
        array(path);
      } else if (ch === '"') {
        type = "string";
        pos = stringEnd(pos);
      } else if (ch === "-" || (ch >= "0" && ch <= "9")) {
        type = "number";
        NUMBER.lastIndex = pos;
        if (!NUMBER.test(text)) fail("invalid number");
        pos = NUMBER.lastIndex;
      } else {
        const word = ["true", "false", "null"].find((w) => text.startsWith(w, pos));
        if (!word) fail(`unexpected ${describe(ch)}: expected a value`);
        type = word === "null" ? "null" : "boolean";
        pos += word.length;
      }
      paths.set(path, { start, end: pos, keyStart, type });
    }

    function object(path) {
      skipWs();
      if (text[pos] === "}") {
        pos++;
        return;
      }
      const seen = new Set();
      for (;;) {
        skipWs();
        if (text[pos] !== '"') fail(`expected a property name in double quotes, found ${describe(text[pos])}`);
        const keyStart = pos;
        pos = stringEnd(pos);
        const key = JSON.parse(text.slice(keyStart, pos));
        if (seen.has(key)) duplicates.push({ path: childPath(path, key), offset: keyStart });
        seen.add(key);
        expect(":", "':' after the property name");
        value(childPath(path, key), keyStart);
        skipWs();
        if (text[pos] === ",") {
          pos++;
          continue;
        }
        if (text[pos] === "}") {
          pos++;
          return;
        }
        fail(`expected ',' or '}' after a property value, found ${describe(text[pos])}`);
      }
    }

    function array(path) {
      skipWs();
      if (text[pos] === "]") {
        pos++;
        return;
      }
      for (let index = 0; ; index++) {
        value(childPath(path, index), undefined);
        skipWs();
        if (text[pos] === ",") {
          pos++;
          continue;
        }
        if (text[pos] === "]") {
          pos++;
          return;
        }
        fail(`expected ',' or ']' after an array item, found ${describe(text[pos])}`);
      }
    }

    try {
      value("", undefined);
      skipWs();
      if (pos < text.length) fail(`unexpected ${describe(text[pos])} after the end of the JSON value`);
    } catch (err) {
      if (err instanceof JsonSyntaxError) return { ok: false, error: { message: err.message, offset: err.offset } };
      throw err;
    }
    return { ok: true, paths, duplicates };
  }

  /** Parse `path` ("a.b[2].c") into its segments: ["a", "b", 2, "c"]. */
  function splitPath(path) {
    const segments = [];
    const re = /([^.[\]]+)|\[(\d+)\]/g;
    let match;
    while ((match = re.exec(path)) !== null) {
      segments.push(match[2] !== undefined ? Number(match[2]) : match[1]);
    }
    return segments;
  }

  /** The longest recorded path that `path` starts with (itself if recorded). */
  function nearestPath(paths, path) {
    if (path === "body") path = "";
    let segments = splitPath(path);
    for (;;) {
      const candidate = segments.reduce(childPath, "");
      if (paths.has(candidate)) return candidate;
      if (!segments.length) return null;
      segments = segments.slice(0, -1);
    }
  }

  /**
   * The offset where line `fieldLine` (1-based) of a JSON string value begins,
   * counted as Jinja counts: each escaped \n, \r\n or lone \r (also as \u000a or
   * \u000d) ends a line. `start` is the opening quote. Past the last line: the
   * closing quote.
   */
  function fieldLineOffset(text, start, fieldLine) {
    let line = 1;
    let i = start + 1;
    let pendingCr = false; // just after an escaped CR: an escaped LF now joins it
    while (line < fieldLine) {
      const ch = text[i];
      if (ch === undefined || ch === '"') return i;
      if (ch !== "\\") {
        pendingCr = false;
        i++;
        continue;
      }
      let len = 2;
      let escaped = text[i + 1];
      if (escaped === "u") {
        len = 6;
        const code = text.slice(i + 2, i + 6).toLowerCase();
        escaped = code === "000a" ? "n" : code === "000d" ? "r" : "other";
      }
      i += len;
      if (escaped === "n" && pendingCr) {
        pendingCr = false; // CRLF: the line already ended at the CR
      } else if (escaped === "n" || escaped === "r") {
        pendingCr = escaped === "r";
        line++;
      } else {
        pendingCr = false;
      }
    }
    // A CRLF counts once: skip the LF of a CRLF at the start of the line.
    if (pendingCr && text.startsWith("\\n", i)) i += 2;
    return i;
  }

  /** The offset just before the next line break inside the string (or its closing quote). */
  function fieldLineEnd(text, from) {
    let i = from;
    for (;;) {
      const ch = text[i];
      if (ch === undefined || ch === '"') return i;
      if (ch === "\\") {
        const escaped = text[i + 1];
        const code = escaped === "u" ? text.slice(i + 2, i + 6).toLowerCase() : "";
        if (escaped === "n" || escaped === "r" || code === "000a" || code === "000d") return i;
        i += escaped === "u" ? 6 : 2;
      } else {
        i++;
      }
    }
  }

  /**
   * Where a lint issue points in the text. `issue` is {path, line?}: path a field
   * or block path, line the line inside that Jinja field. Returns
   * {from, to, path, exact} (offsets; `path` is what was found, `exact` false
   * when only an ancestor exists), or null when the text holds nothing usable.
   */
  function locate(text, scanned, issue) {
    if (!scanned || !scanned.ok) return null;
    const found = nearestPath(scanned.paths, issue.path || "");
    if (found === null) return null;
    const entry = scanned.paths.get(found);
    const exact = found === (issue.path === "body" ? "" : issue.path || "");
    if (exact && entry.type === "string" && issue.line) {
      const from = fieldLineOffset(text, entry.start, issue.line);
      return { from, to: Math.max(from, fieldLineEnd(text, from)), path: found, exact };
    }
    const from = entry.keyStart ?? entry.start;
    const newline = text.indexOf("\n", from);
    const to = entry.type === "object" || entry.type === "array" ? (newline < 0 ? entry.end : newline) : entry.end;
    return { from, to: Math.min(to, entry.end), path: found, exact };
  }

  /** 1-based line and column of `offset`, with a precomputed index of line starts. */
  function lineIndex(text) {
    const starts = [0];
    for (let i = text.indexOf("\n"); i !== -1; i = text.indexOf("\n", i + 1)) starts.push(i + 1);
    return function position(offset) {
      let lo = 0;
      let hi = starts.length - 1;
      while (lo < hi) {
        const mid = (lo + hi + 1) >> 1;
        if (starts[mid] <= offset) lo = mid;
        else hi = mid - 1;
      }
      return { line: lo + 1, column: offset - starts[lo] + 1 };
    };
  }

  /* Numbers as written. JSON.parse turns `1.0` into 1 and JSON.stringify writes it back as
     `1`, and the server hashes the text it receives: a body sent back unchanged must keep
     the lexemes it came with. Where the engine gives parse its source text and stringify
     raw JSON (JSON.parse source text access), each number whose text is not its plain
     spelling is remembered by its holder and key, and written as it came while its value
     is unchanged. Elsewhere they are the plain JSON functions. */
  const lexemes = new WeakMap();
  const rawJSON = typeof JSON.rawJSON === "function" ? JSON.rawJSON : null;

  function parse(text) {
    return JSON.parse(text, function (key, value, context) {
      if (typeof value === "number" && context && context.source !== undefined && String(value) !== context.source) {
        let kept = lexemes.get(this);
        if (!kept) lexemes.set(this, (kept = new Map()));
        kept.set(key, context.source);
      }
      return value;
    });
  }

  function stringify(value, indent) {
    if (!rawJSON) return JSON.stringify(value, null, indent);
    return JSON.stringify(
      value,
      function (key, item) {
        if (typeof item !== "number") return item;
        const source = lexemes.get(this)?.get(key);
        return source !== undefined && Number(source) === item ? rawJSON(source) : item;
      },
      indent
    );
  }

  return { scan, splitPath, nearestPath, fieldLineOffset, fieldLineEnd, locate, lineIndex, parse, stringify };
});
