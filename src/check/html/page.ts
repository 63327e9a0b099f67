// The HTML report as one self-contained page: its style, its script and its
// data inline, nothing fetched (it must open from a CI artefact or an e-mail,
// offline). The script (browser.ts) draws the model (model.ts) on a canvas.
import { reportScript } from './browser.js';
import type { ReportModel } from './model.js';

/** The id of the element that holds the model as JSON. */
export const reportDataElementId = 'paxos-report-data';

/** The whole page for `model`. */
export function renderReportPage(model: ReportModel): string {
  const title = `paxos check: ${model.source}`;
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:">
<title>${escapeHtml(title)}</title>
<style>${reportStyle}</style>
</head>
<body>
<header>
  <h1 id="verdict" data-verdict="${model.verdict}">${escapeHtml(verdictHeading(model))}</h1>
  <p id="summary">${escapeHtml(model.source)}: ${escapeHtml(model.summary)}</p>
  <div id="undecided"></div>
  <section id="violation" hidden>
    <pre id="explanation"></pre>
    <p id="note"></p>
    <ol id="violation-operations"></ol>
  </section>
</header>
<nav id="toolbar">
  <label>key <select id="key"></select></label>
  <button type="button" id="zoom-in" title="zoom in (+ or the wheel)">+</button>
  <button type="button" id="zoom-out" title="zoom out (- or the wheel)">−</button>
  <button type="button" id="pan-left" title="earlier (←, or drag)">←</button>
  <button type="button" id="pan-right" title="later (→, or drag)">→</button>
  <button type="button" id="fit-all" title="the whole history">whole history</button>
  <button type="button" id="fit-violation" title="the operations that cannot be ordered">the violation</button>
  <span id="window"></span>
</nav>
<div id="legend">
  <span><i class="swatch ok"></i>ok (applied)</span>
  <span><i class="swatch fail"></i>fail (not applied)</span>
  <span><i class="swatch info"></i>info (outcome unknown: faint to the end)</span>
  <span><i class="swatch highlighted"></i>cannot be ordered</span>
  <span><i class="swatch unexplained"></i>no order explains its result</span>
  <span><i class="swatch after"></i>completed after it shows (counted as in flight)</span>
</div>
<div id="stage"><canvas id="timeline"></canvas><div id="tooltip" hidden></div></div>
<p id="hint">Wheel: zoom at the pointer. Drag: pan (shift+wheel scrolls lanes). A link may open a view: #key=NAME&amp;window=all or #key=NAME&amp;window=START,END. Hover or click a bar for the operation. Times are the history's own units.</p>
<pre id="details">Click an operation to keep its details here.</pre>
<output id="status" data-ready="false"></output>
<script type="application/json" id="${reportDataElementId}">${embedJson(model)}</script>
<script>${reportScript}</script>
</body>
</html>
`;
}

function verdictHeading(model: ReportModel): string {
  if (model.verdict === 'linearizable') return 'linearizable';
  if (model.verdict === 'unknown') return 'unknown: no violation found, but some keys could not be decided';
  const count = model.violations.length;
  return `not linearizable: ${count} ${count === 1 ? 'key' : 'keys'}`;
}

/**
 * JSON that cannot end its script element: `<` (as in `</script>` or `<!--`
 * inside a value) and the two line separators become escapes, which
 * JSON.parse reads back as the same characters.
 */
export function embedJson(value: unknown): string {
  return JSON.stringify(value).replace(/[<>&\u2028\u2029]/g, (character) => `\\u${character.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (character) => `&#${character.charCodeAt(0)};`);
}

const reportStyle = `
:root { --ok: #2f8f4e; --fail: #c98a1b; --info: #4a78c9; --highlight: #d62728; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif; color: #1d1d1f; background: #fff; }
header { padding: 12px 16px 4px; }
h1 { margin: 0 0 4px; font-size: 20px; }
h1[data-verdict="linearizable"] { color: var(--ok); }
h1[data-verdict="violation"] { color: var(--highlight); }
h1[data-verdict="unknown"] { color: var(--fail); }
#summary { margin: 0 0 8px; color: #555; }
#undecided p { margin: 2px 0; color: #8a5a00; }
#violation { border-left: 4px solid var(--highlight); background: #fdf1f1; padding: 8px 12px; margin: 8px 0; }
#explanation { margin: 0; font: 12px/1.45 ui-monospace, "DejaVu Sans Mono", monospace; white-space: pre; overflow-x: auto; }
#note { margin: 6px 0; font-size: 12px; color: #555; }
#violation-operations { margin: 4px 0; padding-left: 22px; font-size: 13px; }
#violation-operations li { cursor: pointer; }
#violation-operations li:hover { text-decoration: underline; }
#violation-operations li.unexplained { font-weight: 600; }
#toolbar { display: flex; gap: 6px; align-items: center; padding: 6px 16px; border-top: 1px solid #ddd; border-bottom: 1px solid #ddd; background: #f7f7f8; flex-wrap: wrap; }
#toolbar select { max-width: 360px; }
#toolbar button { min-width: 32px; }
#window { margin-left: 8px; color: #555; font-variant-numeric: tabular-nums; }
#legend { display: flex; gap: 16px; flex-wrap: wrap; padding: 6px 16px; font-size: 12px; color: #333; }
.swatch { display: inline-block; width: 22px; height: 10px; margin-right: 5px; vertical-align: -1px; border-radius: 2px; }
.swatch.ok { background: var(--ok); }
.swatch.fail { background: var(--fail); }
.swatch.info { background: linear-gradient(90deg, var(--info) 50%, rgba(74,120,201,0.3) 50%); }
.swatch.highlighted { background: #ddd; outline: 2px solid var(--highlight); }
.swatch.unexplained { background: var(--highlight); }
.swatch.after { background: #ddd; outline: 2px dashed var(--highlight); }
#stage { position: relative; margin: 0 16px; border: 1px solid #ccc; height: 75vh; min-height: 120px; }
#timeline { display: block; width: 100%; height: 100%; cursor: grab; }
#timeline.dragging { cursor: grabbing; }
#tooltip { position: fixed; pointer-events: none; background: rgba(20,20,24,0.92); color: #fff; padding: 6px 8px; border-radius: 4px; font: 12px/1.4 ui-monospace, "DejaVu Sans Mono", monospace; white-space: pre; z-index: 2; max-width: 520px; overflow: hidden; }
#hint { margin: 4px 16px; font-size: 12px; color: #666; }
#details { margin: 4px 16px 16px; padding: 8px; background: #f7f7f8; border: 1px solid #ddd; font: 12px/1.45 ui-monospace, "DejaVu Sans Mono", monospace; white-space: pre-wrap; word-break: break-all; }
#status { display: block; margin: 0 16px 16px; font-size: 12px; color: #666; }
`;
