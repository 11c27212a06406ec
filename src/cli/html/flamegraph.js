// The flame graph page of `labelprof html`: reads the profile data inlined in
// the page (html.ts, FlameData), draws the call tree on a canvas (root at the
// top), and filters it by the ticked label values. No network, no library.
//
// Data: a call tree whose parents have lower ids than their children, and
// samples aggregated by (tree node, label set). A filter is a pass over the
// samples (self values) and one over the nodes in reverse (totals), so
// ticking a value costs O(samples + nodes), not a rebuild.
(function () {
  'use strict';
  const D = JSON.parse(document.getElementById('profile-data').textContent);
  const N = D.parent.length;
  const ROW = 18;
  const NONE = '(none)';

  // Children of each node in one flat array (node i's are childList[childStart[i]..childStart[i+1]]),
  // sorted by function name so the layout stays put when filters change.
  // A million small arrays took most of the page's start-up on large profiles.
  const nameOf = (node) => (node === 0 ? 'all' : D.fnName[D.fn[node]]);
  const childStart = new Int32Array(N + 1);
  for (let i = 1; i < N; i++) childStart[D.parent[i] + 1]++;
  for (let i = 0; i < N; i++) childStart[i + 1] += childStart[i];
  const childList = new Int32Array(Math.max(N - 1, 0));
  const fill = childStart.slice(0, N);
  for (let i = 1; i < N; i++) childList[fill[D.parent[i]]++] = i;
  const fnRank = new Int32Array(D.fnName.length);
  D.fnName
    .map((name, i) => [name, i])
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] - b[1]))
    .forEach(([, i], rank) => (fnRank[i] = rank));
  const byName = (a, b) => fnRank[D.fn[a]] - fnRank[D.fn[b]] || a - b;
  for (let i = 0; i < N; i++) if (childStart[i + 1] - childStart[i] > 1) childList.subarray(childStart[i], childStart[i + 1]).sort(byName);
  const depth = new Int32Array(N);
  let maxDepth = 0;
  for (let i = 1; i < N; i++) {
    depth[i] = depth[D.parent[i]] + 1;
    if (depth[i] > maxDepth) maxDepth = depth[i];
  }

  const self = new Float64Array(N);
  const total = new Float64Array(N);
  let grandTotal = 0;
  for (const v of D.sampleValue) grandTotal += v;

  // --- label facets --------------------------------------------------------
  // selected[k]: Set of value indices ticked for key k (-1 = "(none)"); empty = no filter on k
  const selected = D.labelKeys.map(() => new Set());
  const setPasses = new Uint8Array(D.labelSets.length);
  function computeSetPasses() {
    for (let s = 0; s < D.labelSets.length; s++) {
      let ok = 1;
      for (let k = 0; k < D.labelKeys.length && ok; k++) {
        if (selected[k].size > 0 && !selected[k].has(D.labelSets[s][k])) ok = 0;
      }
      setPasses[s] = ok;
    }
  }

  function computeTotals() {
    computeSetPasses();
    self.fill(0);
    for (let i = 0; i < D.sampleNode.length; i++) if (setPasses[D.sampleSet[i]]) self[D.sampleNode[i]] += D.sampleValue[i];
    total.set(self);
    for (let i = N - 1; i > 0; i--) total[D.parent[i]] += total[i];
  }

  function fmt(v) {
    if (D.unit === 'nanoseconds') {
      if (v >= 10e9) return (v / 1e9).toFixed(1) + ' s';
      if (v >= 1e9) return (v / 1e9).toFixed(2) + ' s';
      if (v >= 1e6) return (v / 1e6).toFixed(0) + ' ms';
      return (v / 1e6).toFixed(2) + ' ms';
    }
    return String(Math.round(v)) + (D.unit && D.unit !== 'count' ? ' ' + D.unit : '');
  }
  const pct = (part, whole) => (whole > 0 ? ((100 * part) / whole).toFixed(1) + '%' : '-');

  function buildFacets() {
    const aside = document.getElementById('facets');
    if (D.labelKeys.length === 0) {
      aside.innerHTML = '<p class="empty">No labels in this profile.</p>';
      return;
    }
    // each value's share of the whole profile, fixed: what ticking it would show
    const shares = D.labelKeys.map((_, k) => new Map());
    for (let i = 0; i < D.sampleNode.length; i++) {
      const set = D.labelSets[D.sampleSet[i]];
      for (let k = 0; k < set.length; k++) shares[k].set(set[k], (shares[k].get(set[k]) || 0) + D.sampleValue[i]);
    }
    D.labelKeys.forEach((key, k) => {
      const h = document.createElement('h2');
      h.textContent = key;
      aside.appendChild(h);
      const rows = [...shares[k]].sort((a, b) => b[1] - a[1]);
      for (const [vi, v] of rows) {
        const label = document.createElement('label');
        const box = document.createElement('input');
        box.type = 'checkbox';
        box.dataset.key = key;
        box.dataset.value = vi < 0 ? NONE : D.labelValues[k][vi];
        box.addEventListener('change', () => {
          if (box.checked) selected[k].add(vi);
          else selected[k].delete(vi);
          update();
        });
        const name = document.createElement('span');
        name.className = 'value' + (vi < 0 ? ' none' : '');
        name.textContent = vi < 0 ? NONE : D.labelValues[k][vi];
        name.title = name.textContent;
        const share = document.createElement('span');
        share.className = 'share';
        share.textContent = pct(v, grandTotal);
        share.title = fmt(v);
        label.append(box, name, share);
        aside.appendChild(label);
      }
    });
  }

  // --- drawing -------------------------------------------------------------
  const canvas = document.getElementById('flame');
  const ctx = canvas.getContext('2d');
  let zoom = 0;
  let search = null;
  let drawn = []; // per row: [{x, w, node}]
  const KIND = { j: 'js', n: 'native', v: 'v8' };
  const style = getComputedStyle(document.documentElement);
  const colors = { js: style.getPropertyValue('--js').trim(), native: style.getPropertyValue('--native').trim(), v8: style.getPropertyValue('--v8').trim(), match: style.getPropertyValue('--match').trim() };

  // a stable shade per function name within its kind's color
  function shade(base, name) {
    let h = 0;
    for (let i = 0; i < name.length; i++) h = (h * 31 + name.charCodeAt(i)) | 0;
    const d = ((h >>> 0) % 40) - 20;
    const n = parseInt(base.slice(1), 16);
    const c = (x) => Math.max(0, Math.min(255, x + d));
    return `rgb(${c(n >> 16)},${c((n >> 8) & 255)},${c(n & 255)})`;
  }
  const kindOf = (node) => (node === 0 ? 'v8' : KIND[D.fnKind[D.fn[node]]]);
  const matches = (node) => {
    if (search === null || node === 0) return false;
    const f = D.fn[node];
    return search.test(D.fnName[f]) || search.test(D.fnFile[f]);
  };

  function draw() {
    const width = canvas.clientWidth;
    const dpr = window.devicePixelRatio || 1;
    const path = [];
    for (let n = zoom; n !== -1; n = D.parent[n]) path.unshift(n);
    const rows = path.length + (maxDepth - depth[zoom]) + 1;
    canvas.style.height = rows * ROW + 'px';
    canvas.width = Math.round(width * dpr);
    canvas.height = Math.round(rows * ROW * dpr);
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.font = '12px system-ui, sans-serif';
    ctx.textBaseline = 'middle';
    drawn = [];
    const box = (node, x, w, row, dim) => {
      const kind = kindOf(node);
      const name = nameOf(node);
      ctx.fillStyle = matches(node) ? colors.match : shade(colors[kind], name);
      ctx.globalAlpha = dim ? 0.45 : 1;
      ctx.fillRect(x, row * ROW, Math.max(w - 1, 0.5), ROW - 1);
      if (w > 28) {
        ctx.fillStyle = '#111';
        const room = Math.floor((w - 6) / 6.5);
        ctx.fillText(name.length > room ? name.slice(0, Math.max(room - 1, 1)) + '…' : name, x + 3, row * ROW + ROW / 2);
      }
      ctx.globalAlpha = 1;
      (drawn[row] || (drawn[row] = [])).push({ x, w, node });
    };
    // the zoomed node's ancestors, full width and dimmed: click one to zoom out
    path.forEach((n, row) => box(n, 0, width, row, n !== zoom));
    const zoomTotal = total[zoom];
    if (zoomTotal <= 0) return;
    const scale = width / zoomTotal;
    const baseRow = path.length - 1 - depth[zoom];
    const stack = [[zoom, 0]];
    while (stack.length > 0) {
      const [node, x] = stack.pop();
      let cx = x;
      for (let k = childStart[node]; k < childStart[node + 1]; k++) {
        const c = childList[k];
        const w = total[c] * scale;
        if (w >= 0.5) {
          box(c, cx, w, baseRow + depth[c], false);
          stack.push([c, cx]);
        }
        cx += w;
      }
    }
  }

  function update() {
    computeTotals();
    const shown = total[0];
    const el = document.getElementById('shown-total');
    el.textContent = `${D.type} shown: ${fmt(shown)} of ${fmt(grandTotal)} (${pct(shown, grandTotal)})` + (D.durationNanos > 0 ? ` · ${(D.durationNanos / 1e9).toFixed(1)} s profiled` : '');
    el.dataset.value = String(shown);
    el.dataset.share = grandTotal > 0 ? String(shown / grandTotal) : '0';
    updateSearch();
    draw();
  }

  function updateSearch() {
    const out = document.getElementById('search-result');
    if (search === null) {
      out.textContent = '';
      return;
    }
    // value under matching frames, each stack counted once (outermost match)
    let matched = 0;
    const stack = [0];
    while (stack.length > 0) {
      const n = stack.pop();
      if (matches(n)) matched += total[n];
      else for (let k = childStart[n]; k < childStart[n + 1]; k++) stack.push(childList[k]);
    }
    out.textContent = `matched ${fmt(matched)} (${pct(matched, total[0])} of shown)`;
    out.dataset.value = String(matched);
  }

  // --- interaction ---------------------------------------------------------
  const tooltip = document.getElementById('tooltip');
  function nodeAt(ev) {
    const r = canvas.getBoundingClientRect();
    const x = ev.clientX - r.left;
    const row = Math.floor((ev.clientY - r.top) / ROW);
    for (const b of drawn[row] || []) if (x >= b.x && x < b.x + b.w) return b.node;
    return -1;
  }
  canvas.addEventListener('mousemove', (ev) => {
    const node = nodeAt(ev);
    if (node < 0) {
      tooltip.hidden = true;
      return;
    }
    const f = D.fn[node];
    const file = node === 0 ? '' : D.fnFile[f] + (D.line[node] > 0 ? ':' + D.line[node] : '');
    tooltip.innerHTML = '';
    const name = document.createElement('div');
    name.className = 'name';
    name.textContent = nameOf(node);
    const where = document.createElement('div');
    where.className = 'file';
    where.textContent = file || (node === 0 ? 'all samples shown' : KIND[D.fnKind[f]] === 'v8' ? 'V8 pseudo-frame' : '(no file)');
    const values = document.createElement('div');
    values.className = 'values';
    values.textContent = `self ${fmt(self[node])} (${pct(self[node], total[0])}) · total ${fmt(total[node])} (${pct(total[node], total[0])})`;
    tooltip.append(name, where, values);
    tooltip.hidden = false;
    const left = Math.min(ev.clientX + 14, window.innerWidth - tooltip.offsetWidth - 8);
    tooltip.style.left = Math.max(0, left) + 'px';
    tooltip.style.top = ev.clientY + 16 + 'px';
  });
  canvas.addEventListener('mouseleave', () => (tooltip.hidden = true));
  canvas.addEventListener('click', (ev) => {
    const node = nodeAt(ev);
    if (node >= 0) {
      zoom = node;
      draw();
    }
  });
  document.getElementById('reset-zoom').addEventListener('click', () => {
    zoom = 0;
    draw();
  });
  document.getElementById('search').addEventListener('input', (ev) => {
    const q = ev.target.value;
    try {
      search = q === '' ? null : new RegExp(q, 'i');
    } catch (e) {
      search = new RegExp(q.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'), 'i');
    }
    updateSearch();
    draw();
  });
  window.addEventListener('resize', draw);

  // For tests and for curious users: what is on the canvas right now.
  window.labelprofView = {
    drawn: () =>
      drawn.flatMap((row, r) =>
        (row || []).map((b) => ({ name: nameOf(b.node), kind: kindOf(b.node), row: r, x: b.x, width: b.w, total: total[b.node], self: self[b.node] })),
      ),
    shownTotal: () => total[0],
    grandTotal: () => grandTotal,
  };

  document.getElementById('title').textContent = `${D.file}: ${D.type} flame graph`;
  buildFacets();
  update();
  // time from navigation start to the first drawn graph: the page's load cost
  window.labelprofView.readyMillis = performance.now();
})();
