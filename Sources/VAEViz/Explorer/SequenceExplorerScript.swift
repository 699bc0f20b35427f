/// The sequence explorer's script and style (no external file, no network).
///
/// Page API:
///   window.swiftvae.decodeTokens(z) → token ids of the greedy decoding of z (without <bos>, <eos>)
///   window.swiftvae.decodeText(z)   → the same as text (tokens joined as the run joins them)
///   window.swiftvae.nll(z, ids)     → −log p(ids, <eos> | z) in nats, teacher-forced (the
///                                     reconstruction term of the ELBO at this z)
///   window.swiftvae.latent, .vocabulary, .count, .mu(i), .item(i)
/// Opening the page as `report.html#selftest=<URL-encoded JSON array of z>` appends
/// `<pre id="swiftvae-selftest">` with {"texts": [decodeText(z)…], "tokens": […], "nll": [nll of
/// the first test items at their means], "ui": {…}} once the page has loaded.
enum SequenceExplorerScript {
    static let js = #"""
(function () {
  'use strict';
  var t0 = performance.now();
  var errors = [];
  window.addEventListener('error', function (e) { errors.push(String(e.message || e)); });
  function el(id) { return document.getElementById(id); }
  function bytes(id) {
    var bin = atob(el(id).textContent.replace(/\s+/g, ''));
    var n = bin.length, u = new Uint8Array(n);
    for (var i = 0; i < n; i++) u[i] = bin.charCodeAt(i);
    return u;
  }
  var meta = JSON.parse(el('swiftvae-meta').textContent);
  var W = new Float32Array(bytes('swiftvae-weights').buffer);
  var MU = new Float32Array(bytes('swiftvae-mu').buffer);
  var VOC = meta.vocabulary, V = VOC.length, K = meta.latent, H = meta.hidden, NL = meta.layers;
  var BOS = 0, EOS = 1, PAD = 2, UNK = 3;

  // ---------------------------------------------------------------- the decoder
  // offsets into W, in the order SequenceExplorerData lays them out
  var off = 0;
  function take(n) { var o = off; off += n; return o; }
  var h0W = take(H * K), h0b = take(H), layer = [];
  for (var l = 0; l < NL; l++) {
    var inp = l === 0 ? V + K : H;
    layer.push({ inp: inp, wih: take(3 * H * inp), whh: take(3 * H * H), bih: take(3 * H), bhh: take(3 * H) });
  }
  var outW = take(V * H), outb = take(V);
  if (off !== W.length) throw new Error('swiftvae: ' + W.length + ' weights, the sizes need ' + off);

  function sigmoid(x) { return 1 / (1 + Math.exp(-x)); }

  // The decoder's state for z: h₀ = W_h0 z + b_h0 in every layer, and z's constant share of the
  // first layer's input projection, b_ih + W_ih[:, V…V+K] z.
  function start(z) {
    if (!z || z.length !== K) throw new Error('swiftvae: z needs ' + K + ' numbers');
    var h = [], zc = new Float64Array(3 * H), L0 = layer[0];
    var h0 = new Float64Array(H);
    for (var o = 0; o < H; o++) {
      var s = W[h0b + o], r = h0W + o * K;
      for (var j = 0; j < K; j++) s += W[r + j] * z[j];
      h0[o] = s;
    }
    for (var l = 0; l < NL; l++) h.push(Float64Array.from(h0));
    for (var g = 0; g < 3 * H; g++) {
      var t = W[L0.bih + g], row = L0.wih + g * L0.inp + V;
      for (var q = 0; q < K; q++) t += W[row + q] * z[q];
      zc[g] = t;
    }
    return { h: h, zc: zc };
  }

  // One step: the token's input, every layer's GRU update (r, z, n as torch.nn.GRU), the logits.
  function step(st, token) {
    var x = null;
    for (var l = 0; l < NL; l++) {
      var Ly = layer[l], h = st.h[l], gi = new Float64Array(3 * H), g, s, r, j;
      if (l === 0) {
        for (g = 0; g < 3 * H; g++) gi[g] = st.zc[g] + W[Ly.wih + g * Ly.inp + token];
      } else {
        for (g = 0; g < 3 * H; g++) {
          s = W[Ly.bih + g]; r = Ly.wih + g * H;
          for (j = 0; j < H; j++) s += W[r + j] * x[j];
          gi[g] = s;
        }
      }
      var gh = new Float64Array(3 * H);
      for (g = 0; g < 3 * H; g++) {
        s = W[Ly.bhh + g]; r = Ly.whh + g * H;
        for (j = 0; j < H; j++) s += W[r + j] * h[j];
        gh[g] = s;
      }
      for (j = 0; j < H; j++) {
        var rg = sigmoid(gi[j] + gh[j]), ug = sigmoid(gi[H + j] + gh[H + j]);
        var ng = Math.tanh(gi[2 * H + j] + rg * gh[2 * H + j]);
        h[j] = (1 - ug) * ng + ug * h[j];
      }
      x = h;
    }
    var logits = new Float64Array(V);
    for (var v = 0; v < V; v++) {
      var t = W[outb + v], row = outW + v * H;
      for (var k = 0; k < H; k++) t += W[row + k] * x[k];
      logits[v] = t;
    }
    return logits;
  }

  // Greedy decoding as SequenceVAE.generate(greedy: true): the most likely token that may be
  // generated (never <bos>, <pad>, <unk>; the first of equal ones), until <eos> or maxLength tokens.
  function decodeTokens(z) {
    var st = start(z), tok = BOS, out = [];
    for (var s = 0; s <= meta.maxLength; s++) {
      var lg = step(st, tok), pick = EOS, best = -Infinity;
      for (var j = 0; j < V; j++) {
        if (j === BOS || j === PAD || j === UNK) continue;
        if (lg[j] > best) { best = lg[j]; pick = j; }
      }
      if (pick === EOS || out.length === meta.maxLength) break;
      out.push(pick); tok = pick;
    }
    return out;
  }
  function text(ids) {
    return ids.filter(function (i) { return i >= 4 || i === UNK; })
              .map(function (i) { return i === UNK ? '<unk>' : VOC[i]; }).join(meta.joiner);
  }
  function decodeText(z) { return text(decodeTokens(z)); }

  // −log p(ids, <eos> | z): <bos> then the ids as inputs, softmax over the whole vocabulary
  function nll(z, ids) {
    var st = start(z), tok = BOS, total = 0, targets = ids.concat([EOS]);
    for (var s = 0; s < targets.length; s++) {
      var lg = step(st, tok), mx = -Infinity, j;
      for (j = 0; j < V; j++) mx = Math.max(mx, lg[j]);
      var se = 0;
      for (j = 0; j < V; j++) se += Math.exp(lg[j] - mx);
      total += mx + Math.log(se) - lg[targets[s]];
      tok = targets[s];
    }
    return total;
  }

  function muOf(i) { return Array.prototype.slice.call(MU, i * K, (i + 1) * K); }
  var N = meta.items.length;
  var api = { decodeTokens: decodeTokens, decodeText: decodeText, nll: nll, latent: K, vocabulary: VOC, count: N,
              mu: muOf, item: function (i) { return meta.items[i]; }, errors: errors };
  window.swiftvae = api;

  // ---------------------------------------------------------------- the explorer
  function setupExplorer() {
    var origin = meta.padOrigin, axes = meta.padAxes, NA = axes.length;
    function clampIndex(v) { v = Math.round(+v); return isFinite(v) ? Math.min(N - 1, Math.max(0, v)) : 0; }
    function project(z) {
      var a = [0, 0];
      for (var d = 0; d < NA; d++) { var s = 0; for (var j = 0; j < K; j++) s += (z[j] - origin[j]) * axes[d][j]; a[d] = s; }
      return a;
    }
    function moveTo(z, p) {
      var cur = project(z), out = z.slice();
      for (var d = 0; d < NA; d++) { var delta = p[d] - cur[d]; for (var j = 0; j < K; j++) out[j] += delta * axes[d][j]; }
      return out;
    }
    var z = N > 0 ? muOf(0) : new Array(K).fill(0);
    var pts = [];
    for (var i = 0; i < N; i++) pts.push(project(muOf(i)));
    var lo = [-2.5, -2.5], hi = [2.5, 2.5];
    pts.forEach(function (p) { for (var d = 0; d < 2; d++) { if (isFinite(p[d])) { lo[d] = Math.min(lo[d], p[d]); hi[d] = Math.max(hi[d], p[d]); } } });
    for (var d = 0; d < 2; d++) { var m = 0.08 * (hi[d] - lo[d]); lo[d] -= m; hi[d] += m; }
    var pad = el('vx-pad'), S = pad.width;
    function toCanvas(p) { return [(p[0] - lo[0]) / (hi[0] - lo[0]) * S, (hi[1] - p[1]) / (hi[1] - lo[1]) * S]; }
    function fromEvent(ev) {
      var r = pad.getBoundingClientRect();
      return [lo[0] + (ev.clientX - r.left) / r.width * (hi[0] - lo[0]), hi[1] - (ev.clientY - r.top) / r.height * (hi[1] - lo[1])];
    }
    var base = document.createElement('canvas');
    base.width = S; base.height = S;
    (function () {
      var c = base.getContext('2d');
      c.fillStyle = '#fff'; c.fillRect(0, 0, S, S);
      c.strokeStyle = '#d0d7de'; c.lineWidth = 1;
      var o = toCanvas([0, 0]);
      c.beginPath(); c.moveTo(0, o[1]); c.lineTo(S, o[1]); c.moveTo(o[0], 0); c.lineTo(o[0], S); c.stroke();
      c.globalAlpha = 0.6; c.fillStyle = '#1f77b4';
      for (var i = 0; i < N; i++) { var q = toCanvas(pts[i]); c.beginPath(); c.arc(q[0], q[1], 3, 0, 2 * Math.PI); c.fill(); }
      c.globalAlpha = 1; c.fillStyle = '#57606a'; c.font = '20px sans-serif';
      var xn = K > 2 ? 'principal direction 1' : 'z₁', yn = K > 2 ? 'principal direction 2' : 'z₂';
      c.fillText(xn + ' →', S - c.measureText(xn + ' →').width - 8, S - 10);
      if (NA > 1) { c.save(); c.translate(22, 8 + c.measureText('↑ ' + yn).width); c.rotate(-Math.PI / 2); c.fillText(yn + ' →', 0, 0); c.restore(); }
    })();
    var hovered = -1;
    function drawPad() {
      var c = pad.getContext('2d');
      c.drawImage(base, 0, 0);
      if (hovered >= 0) {
        var hq = toCanvas(pts[hovered]);
        c.strokeStyle = '#000'; c.lineWidth = 2; c.beginPath(); c.arc(hq[0], hq[1], 7, 0, 2 * Math.PI); c.stroke();
      }
      var q = toCanvas(project(z));
      c.lineWidth = 5; c.strokeStyle = '#fff';
      c.beginPath(); c.moveTo(q[0] - 11, q[1]); c.lineTo(q[0] + 11, q[1]); c.moveTo(q[0], q[1] - 11); c.lineTo(q[0], q[1] + 11); c.stroke();
      c.lineWidth = 2; c.strokeStyle = '#cf222e';
      c.beginPath(); c.moveTo(q[0] - 10, q[1]); c.lineTo(q[0] + 10, q[1]); c.moveTo(q[0], q[1] - 10); c.lineTo(q[0], q[1] + 10); c.stroke();
    }
    var outText = el('sx-out'), zline = el('vx-z');
    function render() {
      pending = false;
      outText.textContent = decodeText(z);
      drawPad();
      zline.textContent = 'z = (' + z.slice(0, 8).map(function (v) { return v.toFixed(2); }).join(', ') + (K > 8 ? ', …' : '') + ')';
    }
    var pending = false;
    function schedule() { if (!pending) { pending = true; requestAnimationFrame(render); } }
    function showHover(i) {
      if (i === hovered || i < 0) return;
      hovered = i;
      el('sx-hx').textContent = meta.items[i];
      el('sx-hr').textContent = decodeText(muOf(i));
      el('sx-hcap').textContent = 'test item ' + i;
      schedule();
    }
    function nearest(ev) {
      var r = pad.getBoundingClientRect(), sx = S / r.width;
      var cx = (ev.clientX - r.left) * sx, cy = (ev.clientY - r.top) * sx, best = -1, bd = Math.pow(12 * sx, 2);
      for (var i = 0; i < N; i++) {
        var q = toCanvas(pts[i]), dd = (q[0] - cx) * (q[0] - cx) + (q[1] - cy) * (q[1] - cy);
        if (dd < bd) { bd = dd; best = i; }
      }
      return best;
    }
    var dragging = false;
    pad.addEventListener('pointerdown', function (ev) {
      dragging = true;
      try { pad.setPointerCapture(ev.pointerId); } catch (e) { /* dragging still works inside the pad */ }
      z = moveTo(z, fromEvent(ev)); showHover(nearest(ev)); schedule();
      ev.preventDefault();
    });
    pad.addEventListener('pointermove', function (ev) {
      if (dragging) { z = moveTo(z, fromEvent(ev)); schedule(); }
      showHover(nearest(ev));
    });
    function stop() { dragging = false; }
    pad.addEventListener('pointerup', stop);
    pad.addEventListener('pointercancel', stop);
    pad.addEventListener('keydown', function (ev) {
      var stepSize = ev.shiftKey ? 0.1 : 0.02, p = project(z);
      if (ev.key === 'ArrowLeft') p[0] -= stepSize * (hi[0] - lo[0]);
      else if (ev.key === 'ArrowRight') p[0] += stepSize * (hi[0] - lo[0]);
      else if (ev.key === 'ArrowUp' && NA > 1) p[1] += stepSize * (hi[1] - lo[1]);
      else if (ev.key === 'ArrowDown' && NA > 1) p[1] -= stepSize * (hi[1] - lo[1]);
      else return;
      z = moveTo(z, p); schedule();
      ev.preventDefault();
    });
    var ia = el('vx-ia'), ib = el('vx-ib'), tr = el('vx-t'), tv = el('vx-tv');
    function interpolate() {
      if (N === 0) return;
      var a = clampIndex(ia.value), b = clampIndex(ib.value), t = +tr.value;
      var ma = muOf(a), mb = muOf(b), zt = new Array(K);
      for (var j = 0; j < K; j++) zt[j] = (1 - t) * ma[j] + t * mb[j];
      el('sx-a').textContent = meta.items[a]; el('sx-b').textContent = meta.items[b];
      el('sx-mid').textContent = decodeText(zt);
      tv.textContent = t.toFixed(2);
    }
    [ia, ib].forEach(function (e) { e.addEventListener('change', function () { e.value = clampIndex(e.value); interpolate(); }); });
    tr.addEventListener('input', interpolate);
    if (N > 0) showHover(0);
    interpolate();
    render();

    // drives the controls as a reader would and reports what changed (for the self-test)
    api.exerciseUI = function () {
      var r = {}, before = z.slice(), rect = pad.getBoundingClientRect();
      pad.dispatchEvent(new KeyboardEvent('keydown', { key: 'ArrowRight', bubbles: true }));
      r.keyMoves = project(z)[0] > project(before)[0] + 1e-9;
      var at = function (fx, fy) { return { clientX: rect.left + fx * rect.width, clientY: rect.top + fy * rect.height, pointerId: 1, bubbles: true }; };
      pad.dispatchEvent(new PointerEvent('pointerdown', at(0.25, 0.75)));
      pad.dispatchEvent(new PointerEvent('pointermove', at(0.9, 0.1)));
      pad.dispatchEvent(new PointerEvent('pointerup', at(0.9, 0.1)));
      var p = project(z);
      r.dragMoves = Math.abs(p[0] - (lo[0] + 0.9 * (hi[0] - lo[0]))) < 1e-6;
      render();
      r.shownMatches = outText.textContent === decodeText(z);
      r.shown = outText.textContent;
      tr.value = 1; tr.dispatchEvent(new Event('input', { bubbles: true }));
      r.interpolationLabel = tv.textContent;
      r.interpolationEnd = el('sx-mid').textContent === decodeText(muOf(clampIndex(ib.value)));
      r.hoverCaption = el('sx-hcap').textContent;
      return r;
    };
  }

  try { setupExplorer(); } catch (e) { errors.push('explorer: ' + e); }
  api.readyMs = performance.now() - t0;

  window.addEventListener('load', function () {
    var h = location.hash;
    if (h.indexOf('#selftest=') !== 0) return;
    var res;
    try {
      var zs = JSON.parse(decodeURIComponent(h.slice(10)));
      var t1 = performance.now();
      res = { latent: K, vocabulary: V, count: N, readyMs: api.readyMs,
              tokens: zs.map(decodeTokens), texts: zs.map(decodeText) };
      res.decodeMs = (performance.now() - t1) / Math.max(1, zs.length);
      // the first test items' −log p(x | z = μ), their tokens found again from the vocabulary
      res.nll = [];
      for (var i = 0; i < Math.min(3, N); i++) res.nll.push(nll(muOf(i), meta.itemTokens[i]));
      res.ui = api.exerciseUI ? api.exerciseUI() : null;
    } catch (e) { res = { error: String(e) }; }
    res.errors = errors;
    var pre = document.createElement('pre');
    pre.id = 'swiftvae-selftest'; pre.hidden = true;
    pre.textContent = JSON.stringify(res);
    document.body.appendChild(pre);
  });
})();

"""#

    static let css = """
    .sx-text { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 14px; word-break: break-all;
      white-space: pre-wrap; margin: 2px 0 12px; min-height: 1.4em; }
    .sx-big { font-size: 18px; padding: 8px 10px; border: 1px solid #d0d7de; border-radius: 6px; background: #f6f8fa; }
    .sx-label { color: #57606a; font-size: 13px; margin: 0; }
    table.sx-interp th { text-align: left; font-weight: normal; color: #57606a; padding-right: 12px; white-space: nowrap; }

    """
}
