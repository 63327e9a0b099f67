// The report page's script, as text for an inline <script>: it draws the
// model's operations on a canvas, one lane per process, for one key at a time,
// only what the time window shows (a lane's operations are sorted, so each
// draw is a binary search plus at most about one bar per pixel), and writes
// what it drew into #status so a test (or a person) can read it from the DOM.
// Plain browser JavaScript, no template literals: it lives in a TS string.

export const reportScript = String.raw`
(function () {
  'use strict';
  var model = JSON.parse(document.getElementById('paxos-report-data').textContent);
  var ops = model.operations;
  var count = ops.invoke.length;
  var FUNCTIONS = ['read', 'write', 'cas'];
  var OUTCOMES = ['ok', 'fail', 'info'];
  var OK = 0, FAIL = 1, INFO = 2;
  // Pixels; the lane is the height of one process's row.
  var laneHeight = 22, barHeight = 12, axisHeight = 30, gutterWidth = 84;
  // Never zoom in past a window of this many time units: times are integers.
  var windowUnitsMin = 1;
  function plural(count, noun) { return count + ' ' + noun + (count === 1 ? '' : 's'); }
  var colors = { ok: '#2f8f4e', fail: '#c98a1b', info: '#4a78c9', infoTail: 'rgba(74,120,201,0.28)', highlight: '#d62728', selected: '#111', grid: '#ececec', axis: '#444', laneShade: '#fafafa' };

  var canvas = document.getElementById('timeline');
  var context = canvas.getContext('2d');
  var tooltip = document.getElementById('tooltip');
  var status = document.getElementById('status');
  var keySelect = document.getElementById('key');
  var violationByKey = {};
  model.violations.forEach(function (violation) { violationByKey[violation.key] = violation; });

  var view = { key: model.defaultKey, lanes: [], start: 0, span: model.timeSpan, top: 0, selected: -1, drawn: 0, marks: {} };

  function abs(time) { return model.timeOrigin + time; }
  function endOf(index) { return ops.complete[index] < 0 ? model.timeSpan : ops.complete[index]; }
  function value(index) { return model.values[ops.value[index]]; }

  // The lanes of one key: its processes in the model's order, each with its operations by invocation.
  function buildLanes(key) {
    var byProcess = new Map();
    for (var index = 0; index < count; index++) {
      if (ops.key[index] !== key) continue;
      var process = ops.process[index];
      var lane = byProcess.get(process);
      if (lane === undefined) { lane = { process: process, ops: [], ends: [], tailStart: Infinity, infos: [] }; byProcess.set(process, lane); }
      lane.ops.push(index);
    }
    var lanes = Array.from(byProcess.values()).sort(function (a, b) { return a.process - b.process; });
    lanes.forEach(function (lane) {
      lane.ops.sort(function (a, b) { return ops.invoke[a] - ops.invoke[b] || ops.invokeLine[a] - ops.invokeLine[b]; });
      var reach = -Infinity;
      lane.ops.forEach(function (index) {
        // The running latest end, so a binary search finds the first operation that reaches a time.
        reach = Math.max(reach, endOf(index));
        lane.ends.push(reach);
        if (ops.outcome[index] === INFO) {
          lane.infos.push(index);
          lane.tailStart = Math.min(lane.tailStart, endOf(index));
        }
      });
    });
    return lanes;
  }

  // The first position in the lane whose running end reaches time.
  function firstReaching(lane, time) {
    var low = 0, high = lane.ends.length;
    while (low < high) { var middle = (low + high) >>> 1; if (lane.ends[middle] < time) low = middle + 1; else high = middle; }
    return low;
  }

  function marksOf(key) {
    var violation = violationByKey[key];
    var marks = { highlighted: new Set(), unexplained: new Set(), after: new Set(), violation: violation };
    if (violation === undefined) return marks;
    violation.operations.forEach(function (index) { if (index >= 0) marks.highlighted.add(index); });
    violation.unexplained.forEach(function (index) { if (index >= 0) marks.unexplained.add(index); });
    violation.completesAfterViolation.forEach(function (index) { if (index >= 0) marks.after.add(index); });
    return marks;
  }

  function plotWidth() { return Math.max(1, canvas.clientWidth - gutterWidth); }
  function visibleLanes() { return Math.max(1, Math.floor((canvas.clientHeight - axisHeight) / laneHeight)); }
  function x(time) { return gutterWidth + (time - view.start) / view.span * plotWidth(); }
  function timeAt(pixel) { return view.start + (pixel - gutterWidth) / plotWidth() * view.span; }

  function clampView() {
    var slack = model.timeSpan * 0.05 + 1;
    view.span = Math.min(Math.max(view.span, windowUnitsMin), model.timeSpan + 2 * slack);
    view.start = Math.min(Math.max(view.start, -slack), model.timeSpan + slack - view.span);
    view.top = Math.max(0, Math.min(view.top, view.lanes.length - visibleLanes()));
  }

  function fitAll() { view.start = 0; view.span = model.timeSpan; view.top = 0; clampView(); }

  // The window around the operations that cannot be ordered, with a margin, and their lanes in view.
  function fitViolation() {
    var operations = Array.from(view.marks.highlighted);
    if (operations.length === 0) { fitAll(); return; }
    var first = Infinity, last = -Infinity;
    operations.forEach(function (index) {
      first = Math.min(first, ops.invoke[index]);
      last = Math.max(last, ops.complete[index] < 0 ? ops.invoke[index] : ops.complete[index]);
    });
    var span = Math.max(last - first, windowUnitsMin);
    view.start = first - span * 0.15;
    view.span = span * 1.3;
    var laneRows = view.lanes.map(function (lane, row) { return lane.ops.some(function (index) { return view.marks.highlighted.has(index); }) ? row : -1; }).filter(function (row) { return row >= 0; });
    view.top = laneRows.length > 0 ? laneRows[0] : 0;
    clampView();
  }

  function tickStep(span, width) {
    var raw = span / Math.max(1, width / 130);
    var power = Math.pow(10, Math.floor(Math.log10(Math.max(raw, 1))));
    var steps = [1, 2, 5, 10];
    for (var i = 0; i < steps.length; i++) if (steps[i] * power >= raw) return Math.max(1, steps[i] * power);
    return Math.max(1, 10 * power);
  }

  function drawAxis(width, height) {
    var step = tickStep(view.span, plotWidth());
    context.font = '11px system-ui, sans-serif';
    // Labels are absolute times; widen the step until they do not overlap.
    var sample = String(Math.round(abs(view.start + view.span)));
    while (context.measureText(sample).width + 16 > step / view.span * plotWidth()) step *= 2;
    var first = Math.ceil(abs(view.start) / step) * step - model.timeOrigin;
    context.textBaseline = 'middle';
    context.textAlign = 'center';
    for (var time = first; time <= view.start + view.span; time += step) {
      var px = Math.round(x(time)) + 0.5;
      if (px < gutterWidth) continue;
      context.strokeStyle = colors.grid;
      context.beginPath(); context.moveTo(px, axisHeight); context.lineTo(px, height); context.stroke();
      context.strokeStyle = colors.axis;
      context.beginPath(); context.moveTo(px, axisHeight - 6); context.lineTo(px, axisHeight); context.stroke();
      context.fillStyle = colors.axis;
      // A label at an edge is aligned to stay whole inside the plot.
      var label = String(Math.round(abs(time)));
      var half = context.measureText(label).width / 2;
      context.textAlign = px - half < gutterWidth ? 'left' : px + half > width ? 'right' : 'center';
      context.fillText(label, context.textAlign === 'left' ? Math.max(px, gutterWidth + 2) : context.textAlign === 'right' ? width - 2 : px, axisHeight / 2 - 2);
    }
    context.strokeStyle = colors.axis;
    context.beginPath(); context.moveTo(gutterWidth, axisHeight + 0.5); context.lineTo(width, axisHeight + 0.5); context.stroke();
  }

  function barBox(index, row) {
    var left = x(ops.invoke[index]);
    var right = x(endOf(index));
    var y = axisHeight + (row - view.top) * laneHeight + (laneHeight - barHeight) / 2;
    return { left: left, right: right, y: y };
  }

  function drawLane(lane, row, width) {
    var top = axisHeight + (row - view.top) * laneHeight;
    if (row % 2 === 1) { context.fillStyle = colors.laneShade; context.fillRect(gutterWidth, top, width - gutterWidth, laneHeight); }
    var windowEnd = view.start + view.span;
    if (lane.tailStart <= windowEnd) {
      // Info operations may take effect until the end: one faint band covers every tail in the lane.
      var tailLeft = Math.max(gutterWidth, x(lane.tailStart));
      context.fillStyle = colors.infoTail;
      context.fillRect(tailLeft, top + (laneHeight - barHeight) / 2 + 3, Math.max(0, x(model.timeSpan) - tailLeft), barHeight - 6);
    }
    var lastPixel = -1, lastOutcome = -1;
    for (var position = firstReaching(lane, view.start); position < lane.ops.length; position++) {
      var index = lane.ops[position];
      if (ops.invoke[index] > windowEnd) break;
      var box = barBox(index, row);
      var left = Math.max(box.left, gutterWidth - 2), right = Math.min(box.right, width + 2);
      var outcome = ops.outcome[index];
      // Many operations in one pixel: draw one bar for them (the highlighted ones are drawn later anyway).
      if (right - left < 1 && Math.floor(left) === lastPixel && outcome === lastOutcome) continue;
      lastPixel = Math.floor(left); lastOutcome = outcome;
      context.fillStyle = outcome === OK ? colors.ok : outcome === FAIL ? colors.fail : colors.info;
      context.fillRect(left, box.y, Math.max(1, right - left), barHeight);
      view.drawn++;
    }
  }

  function outline(index, row, style) {
    var box = barBox(index, row);
    var left = box.left, right = Math.max(box.right, box.left + 4);
    context.save();
    context.lineWidth = style.width;
    context.strokeStyle = style.color;
    context.setLineDash(style.dash || []);
    context.strokeRect(left - 1.5, box.y - 1.5, right - left + 3, barHeight + 3);
    context.restore();
  }

  function drawMarks(rows) {
    view.lanes.forEach(function (lane, row) {
      if (row < view.top || row >= view.top + rows) return;
      lane.ops.forEach(function (index) {
        if (!view.marks.highlighted.has(index)) return;
        var box = barBox(index, row);
        if (view.marks.unexplained.has(index)) {
          context.fillStyle = colors.highlight;
          context.fillRect(Math.max(box.left, box.right - 6), box.y, Math.min(6, Math.max(2, box.right - box.left)), barHeight);
          context.beginPath();
          context.moveTo(box.right, box.y - 2); context.lineTo(box.right - 5, box.y - 8); context.lineTo(box.right + 5, box.y - 8); context.closePath(); context.fill();
        }
        outline(index, row, { color: colors.highlight, width: 2.5, dash: view.marks.after.has(index) ? [5, 3] : null });
      });
    });
    if (view.selected >= 0) {
      var row = view.lanes.findIndex(function (lane) { return lane.ops.indexOf(view.selected) >= 0; });
      if (row >= view.top && row < view.top + rows) outline(view.selected, row, { color: colors.selected, width: 1.5, dash: [2, 2] });
    }
  }

  // Where the lanes in view sit among all of them, when they do not all fit.
  function drawLaneScroll(rows, width, height) {
    if (view.lanes.length <= rows) return;
    var track = height - axisHeight - 4;
    var thumb = Math.max(12, track * rows / view.lanes.length);
    var offset = (track - thumb) * view.top / Math.max(1, view.lanes.length - rows);
    context.fillStyle = 'rgba(0,0,0,0.25)';
    context.fillRect(width - 6, axisHeight + 2 + offset, 4, thumb);
  }

  function drawLabels(rows) {
    context.fillStyle = '#fff';
    context.fillRect(0, 0, gutterWidth, canvas.clientHeight);
    context.fillStyle = '#333';
    context.textAlign = 'right';
    context.textBaseline = 'middle';
    context.font = '12px system-ui, sans-serif';
    context.fillText('process', gutterWidth - 8, axisHeight / 2 - 2);
    for (var row = view.top; row < Math.min(view.lanes.length, view.top + rows); row++) {
      var label = model.processes[view.lanes[row].process];
      if (label.length > 11) label = label.slice(0, 10) + '…';
      context.fillText(label, gutterWidth - 8, axisHeight + (row - view.top + 0.5) * laneHeight);
    }
    context.strokeStyle = '#ccc';
    context.beginPath(); context.moveTo(gutterWidth - 0.5, 0); context.lineTo(gutterWidth - 0.5, canvas.clientHeight); context.stroke();
  }

  function draw() {
    var ratio = window.devicePixelRatio || 1;
    var width = canvas.clientWidth, height = canvas.clientHeight;
    if (canvas.width !== Math.round(width * ratio) || canvas.height !== Math.round(height * ratio)) {
      canvas.width = Math.round(width * ratio); canvas.height = Math.round(height * ratio);
    }
    context.setTransform(ratio, 0, 0, ratio, 0, 0);
    context.clearRect(0, 0, width, height);
    clampView();
    view.drawn = 0;
    var rows = visibleLanes();
    drawAxis(width, height);
    for (var row = view.top; row < Math.min(view.lanes.length, view.top + rows); row++) drawLane(view.lanes[row], row, width);
    drawMarks(rows);
    drawLabels(rows);
    drawLaneScroll(rows, width, height);
    if (view.lanes.length === 0) { context.fillStyle = '#666'; context.textAlign = 'center'; context.fillText('no operations', width / 2, height / 2); }
    report();
  }

  function linesOf(index) { return ops.completeLine[index] < 0 ? String(ops.invokeLine[index]) : ops.invokeLine[index] + ',' + ops.completeLine[index]; }

  // What #status says: the drawn key, window and marks, in attributes a test can read.
  function report() {
    var key = model.keys[view.key];
    var highlighted = Array.from(view.marks.highlighted).map(function (index) { return ops.invokeLine[index]; }).sort(function (a, b) { return a - b; });
    var unexplained = Array.from(view.marks.unexplained).map(function (index) { return ops.invokeLine[index]; }).sort(function (a, b) { return a - b; });
    var windowText = Math.round(abs(view.start)) + ' – ' + Math.round(abs(view.start + view.span));
    document.getElementById('window').textContent = 'window ' + windowText + ' (' + Math.round(view.span) + ' units), lanes ' + (view.lanes.length === 0 ? 0 : view.top + 1) + '–' + Math.min(view.lanes.length, view.top + visibleLanes()) + ' of ' + view.lanes.length;
    status.dataset.ready = 'true';
    status.dataset.key = key === undefined ? '' : key.name;
    status.dataset.keyVerdict = key === undefined ? '' : key.verdict;
    status.dataset.lanes = String(view.lanes.length);
    status.dataset.drawn = String(view.drawn);
    status.dataset.highlighted = highlighted.join(',');
    status.dataset.unexplained = unexplained.join(',');
    status.dataset.window = Math.round(abs(view.start)) + ',' + Math.round(abs(view.start + view.span));
    status.dataset.selected = view.selected >= 0 ? String(ops.invokeLine[view.selected]) : '';
    status.textContent = key === undefined ? 'no operations' : 'key ' + JSON.stringify(key.name) + ' (' + key.verdict + '): ' + plural(view.lanes.length, 'lane') + ', ' + plural(view.drawn, 'bar') + ' drawn' + (highlighted.length > 0 ? ', operations at lines ' + highlighted.join(' ') + ' cannot be ordered' : '');
  }

  function describe(index) {
    var f = FUNCTIONS[ops.f[index]], outcome = OUTCOMES[ops.outcome[index]];
    var lines = ['process ' + model.processes[ops.process[index]] + '  ' + f + ' on key ' + JSON.stringify(model.keys[ops.key[index]].name)];
    if (f === 'read') lines.push('result   ' + (outcome === 'ok' ? value(index) : 'none (' + outcome + ')'));
    else if (f === 'write') lines.push('value    ' + value(index));
    else lines.push('value    [expected, new] = ' + value(index));
    if (f !== 'read') lines.push('result   ' + (outcome === 'ok' ? 'ok: applied' : outcome === 'fail' ? 'fail: not applied' : 'info: outcome unknown'));
    lines.push('invoked  ' + abs(ops.invoke[index]));
    if (ops.complete[index] < 0) lines.push('in flight at the end of the history (counted as info)');
    else lines.push((outcome === 'info' ? 'info at  ' : outcome + ' at    ') + abs(ops.complete[index]) + '  (took ' + (ops.complete[index] - ops.invoke[index]) + ')');
    lines.push('lines    ' + linesOf(index));
    if (view.marks.highlighted.has(index)) lines.push('cannot be ordered with the other marked operations');
    if (view.marks.unexplained.has(index)) lines.push('← no order explains this result');
    if (view.marks.after.has(index)) lines.push('completed after the violation: counted as in flight');
    return lines.join('\n');
  }

  // The operation under a pixel: a bar within a few pixels, else the info tail of the lane.
  function hit(px, py) {
    var row = view.top + Math.floor((py - axisHeight) / laneHeight);
    if (py < axisHeight || px < gutterWidth || row < 0 || row >= view.lanes.length) return -1;
    var lane = view.lanes[row];
    var slack = 3 / plotWidth() * view.span;
    var time = timeAt(px);
    var best = -1, bestDistance = Infinity;
    for (var position = firstReaching(lane, time - slack); position < lane.ops.length; position++) {
      var index = lane.ops[position];
      if (ops.invoke[index] > time + slack) break;
      var distance = time < ops.invoke[index] ? ops.invoke[index] - time : time > endOf(index) ? time - endOf(index) : 0;
      if (distance < bestDistance) { best = index; bestDistance = distance; }
    }
    if (best >= 0) return best;
    // A faint tail: the latest info operation invoked before this time.
    for (var i = lane.infos.length - 1; i >= 0; i--) if (ops.invoke[lane.infos[i]] <= time && lane.tailStart <= time) return lane.infos[i];
    return -1;
  }

  function select(index) {
    view.selected = index;
    document.getElementById('details').textContent = index >= 0 ? describe(index) : 'Click an operation to keep its details here.';
    draw();
  }

  function showKey(key) {
    view.key = key;
    view.lanes = key >= 0 ? buildLanes(key) : [];
    view.marks = marksOf(key);
    view.selected = -1;
    keySelect.value = String(key);
    // As tall as the lanes need, up to most of the window (more lanes scroll with shift+wheel or drag).
    var wanted = axisHeight + Math.max(1, view.lanes.length) * laneHeight + 8;
    document.getElementById('stage').style.height = 'min(75vh, ' + Math.max(wanted, 120) + 'px)';
    showViolation();
    if (view.marks.highlighted.size > 0) fitViolation(); else fitAll();
    document.getElementById('fit-violation').disabled = view.marks.highlighted.size === 0;
    select(-1);
  }

  function showViolation() {
    var violation = view.marks.violation;
    var section = document.getElementById('violation');
    section.hidden = violation === undefined;
    if (violation === undefined) return;
    document.getElementById('explanation').textContent = violation.text.join('\n');
    document.getElementById('note').textContent = violation.operations.length > 0 && model.note !== null ? model.note : '';
    var list = document.getElementById('violation-operations');
    list.textContent = '';
    violation.operations.forEach(function (index) {
      if (index < 0) return;
      var item = document.createElement('li');
      item.dataset.line = String(ops.invokeLine[index]);
      if (view.marks.unexplained.has(index)) item.className = 'unexplained';
      item.textContent = 'process ' + model.processes[ops.process[index]] + ': ' + FUNCTIONS[ops.f[index]] + ' ' + value(index) + ', ' + OUTCOMES[ops.outcome[index]] + ', ' + abs(ops.invoke[index]) + ' → ' + (ops.complete[index] < 0 ? 'end' : abs(ops.complete[index])) + ' (lines ' + linesOf(index) + ')' + (view.marks.unexplained.has(index) ? ': no order explains this result' : '');
      item.addEventListener('click', function () { centerOn(index); });
      list.appendChild(item);
    });
  }

  function centerOn(index) {
    var row = view.lanes.findIndex(function (lane) { return lane.ops.indexOf(index) >= 0; });
    view.start = (ops.invoke[index] + endOf(index)) / 2 - view.span / 2;
    if (row >= 0 && (row < view.top || row >= view.top + visibleLanes())) view.top = row;
    select(index);
  }

  function zoom(factor, pixel) {
    var anchor = timeAt(pixel === undefined ? gutterWidth + plotWidth() / 2 : pixel);
    var span = Math.max(windowUnitsMin, view.span * factor);
    view.start = anchor - (anchor - view.start) * span / view.span;
    view.span = span;
    draw();
  }

  function pan(fraction) { view.start += view.span * fraction; draw(); }

  model.keys.forEach(function (key, index) {
    var option = document.createElement('option');
    option.value = String(index);
    option.textContent = key.name + ' (' + key.operations + ' ops' + (key.verdict === 'linearizable' ? '' : ', ' + (key.verdict === 'violation' ? 'NOT LINEARIZABLE' : 'undecided')) + ')';
    keySelect.appendChild(option);
  });
  keySelect.addEventListener('change', function () { showKey(Number(keySelect.value)); });
  model.undecided.forEach(function (text) { var line = document.createElement('p'); line.textContent = text; document.getElementById('undecided').appendChild(line); });
  document.getElementById('zoom-in').addEventListener('click', function () { zoom(0.5); });
  document.getElementById('zoom-out').addEventListener('click', function () { zoom(2); });
  document.getElementById('pan-left').addEventListener('click', function () { pan(-0.25); });
  document.getElementById('pan-right').addEventListener('click', function () { pan(0.25); });
  document.getElementById('fit-all').addEventListener('click', function () { fitAll(); draw(); });
  document.getElementById('fit-violation').addEventListener('click', function () { fitViolation(); draw(); });
  document.addEventListener('keydown', function (event) {
    if (event.target === keySelect) return;
    if (event.key === '+' || event.key === '=') zoom(0.5);
    else if (event.key === '-') zoom(2);
    else if (event.key === 'ArrowLeft') pan(-0.25);
    else if (event.key === 'ArrowRight') pan(0.25);
  });

  canvas.addEventListener('wheel', function (event) {
    event.preventDefault();
    var rect = canvas.getBoundingClientRect();
    if (event.shiftKey) { view.top += event.deltaY > 0 ? 3 : -3; draw(); return; }
    zoom(Math.exp(Math.max(-1, Math.min(1, event.deltaY * 0.002))), event.clientX - rect.left);
  }, { passive: false });

  var drag = null;
  canvas.addEventListener('mousedown', function (event) {
    drag = { x: event.clientX, y: event.clientY, start: view.start, top: view.top, moved: false };
    canvas.classList.add('dragging');
  });
  window.addEventListener('mouseup', function (event) {
    if (drag === null) return;
    canvas.classList.remove('dragging');
    var wasClick = !drag.moved;
    drag = null;
    if (!wasClick) return;
    var rect = canvas.getBoundingClientRect();
    select(hit(event.clientX - rect.left, event.clientY - rect.top));
  });
  window.addEventListener('mousemove', function (event) {
    if (drag !== null) {
      var dx = event.clientX - drag.x, dy = event.clientY - drag.y;
      if (Math.abs(dx) + Math.abs(dy) > 3) drag.moved = true;
      if (!drag.moved) return;
      view.start = drag.start - dx / plotWidth() * view.span;
      view.top = drag.top - Math.round(dy / laneHeight);
      tooltip.hidden = true;
      draw();
      return;
    }
    var rect = canvas.getBoundingClientRect();
    var px = event.clientX - rect.left, py = event.clientY - rect.top;
    var index = px >= 0 && py >= 0 && px <= rect.width && py <= rect.height ? hit(px, py) : -1;
    if (index < 0) { tooltip.hidden = true; return; }
    tooltip.textContent = describe(index);
    tooltip.hidden = false;
    // Beside the pointer, flipped to stay inside the browser window.
    var left = event.clientX + 14, top = event.clientY + 16;
    if (left + tooltip.offsetWidth > window.innerWidth - 4) left = Math.max(4, event.clientX - tooltip.offsetWidth - 14);
    if (top + tooltip.offsetHeight > window.innerHeight - 4) top = Math.max(4, event.clientY - tooltip.offsetHeight - 10);
    tooltip.style.left = left + 'px';
    tooltip.style.top = top + 'px';
  });
  window.addEventListener('resize', draw);

  // A link may name the view: #key=NAME&window=all or #key=NAME&window=START,END (the history's times).
  function openFromHash() {
    var parameters = new URLSearchParams(location.hash.slice(1));
    var named = parameters.get('key');
    var key = named === null ? -1 : model.keys.findIndex(function (candidate) { return candidate.name === named; });
    showKey(key >= 0 ? key : model.defaultKey);
    var windowText = parameters.get('window');
    if (windowText === null) return;
    if (windowText === 'all') { fitAll(); draw(); return; }
    var bounds = windowText.split(',').map(Number);
    if (bounds.length !== 2 || !(bounds[1] > bounds[0])) return;
    view.start = bounds[0] - model.timeOrigin;
    view.span = bounds[1] - bounds[0];
    draw();
  }

  // Where the bar of the operation invoked on a line is, in client pixels (for tests that point at it).
  window.paxosReport = {
    locate: function (line) {
      var index = ops.invokeLine.indexOf(line);
      var row = view.lanes.findIndex(function (lane) { return lane.ops.indexOf(index) >= 0; });
      if (index < 0 || row < view.top || row >= view.top + visibleLanes()) return null;
      var box = barBox(index, row), rect = canvas.getBoundingClientRect();
      var left = Math.max(box.left, gutterWidth), right = Math.min(box.right, canvas.clientWidth);
      return { x: rect.left + (left + right) / 2, y: rect.top + box.y + barHeight / 2 };
    },
  };

  window.addEventListener('hashchange', openFromHash);
  openFromHash();
})();
`;
