/// The sequence explorer's script and style (no external file, no network).
///
/// Page API:
///   window.swiftvae.decodeTokens(z) → token ids of the greedy decoding of z (without <bos>, <eos>)
///   window.swiftvae.decodeText(z)   → the same as text (tokens joined as the run joins them)
///   window.swiftvae.nll(z, ids)     → −log p(ids, <eos> | z) in nats, teacher-forced (the
///                                     reconstruction term of the ELBO at this z)
///   window.swiftvae.latent, .vocabulary, .count, .mu(i), .item(i), .id(i) (i: the place in the
///                                     page's list, 0 ..< count; id: the item's line in its file)
/// Opening the page as `report.html#selftest=<URL-encoded JSON array of z>` appends
/// `<pre id="swiftvae-selftest">` with {"texts": [decodeText(z)…], "tokens": […], "nll": [nll of
/// the first test items at their means], "ui": {…}} once the page has loaded.
enum SequenceExplorerScript {
    static let js = "(function () {\n" + ExplorerScript.shared
        + "floats('swiftvae-weights', function (W) {\n" + body + "});\n})();\n"

    static let body = #"""
  var meta = JSON.parse(el('swiftvae-meta').textContent);
  var MU = new Float32Array(bytes('swiftvae-mu').buffer);
  var VOC = meta.vocabulary, V = VOC.length, K = meta.latent, H = meta.hidden, NL = meta.layers, D = meta.embedding || 0;
  var BOS = 0, EOS = 1, PAD = 2, UNK = 3;

  // ---------------------------------------------------------------- the decoder
  // offsets into W, in the order SequenceExplorerData lays them out
  var off = 0;
  function take(n) { var o = off; off += n; return o; }
  var h0W = take(H * K), h0b = take(H), emb = take(V * D), layer = [];
  for (var l = 0; l < NL; l++) {
    var inp = l === 0 ? (D > 0 ? D : V) + K : H;
    layer.push({ inp: inp, wih: take(3 * H * inp), whh: take(3 * H * H), bih: take(3 * H), bhh: take(3 * H) });
  }
  var outW = take(V * H), outb = take(V);
  if (off !== W.length) throw new Error('swiftvae: ' + W.length + ' weights, the sizes need ' + off);

  function sigmoid(x) { return 1 / (1 + Math.exp(-x)); }

  // The decoder's state for z: h₀ = W_h0 z + b_h0 in every layer, and z's constant share of the
  // first layer's input projection, b_ih + W_ih[:, V…V+K] z (D…D+K with an embedding).
  function start(z) {
    if (!z || z.length !== K) throw new Error('swiftvae: z needs ' + K + ' numbers');
    for (var q = 0; q < K; q++) {
      if (typeof z[q] !== 'number' || !isFinite(z[q])) throw new Error('swiftvae: z[' + q + '] is ' + (typeof z[q] === 'string' ? JSON.stringify(z[q]) + ' (a string)' : String(z[q])) + ', not a finite number');
    }
    var h = [], zc = new Float64Array(3 * H), L0 = layer[0];
    var h0 = new Float64Array(H);
    for (var o = 0; o < H; o++) {
      var s = W[h0b + o], r = h0W + o * K;
      for (var j = 0; j < K; j++) s += W[r + j] * z[j];
      h0[o] = s;
    }
    for (var l = 0; l < NL; l++) h.push(Float64Array.from(h0));
    for (var g = 0; g < 3 * H; g++) {
      var t = W[L0.bih + g], row = L0.wih + g * L0.inp + (D > 0 ? D : V);
      for (var q = 0; q < K; q++) t += W[row + q] * z[q];
      zc[g] = t;
    }
    return { h: h, zc: zc };
  }

  // A token's share of the first layer's input projection: its column of W_ih (one-hot), or
  // W_ih[:, 0…D] E[token] with an embedding (kept per token once computed).
  var tokenIn = {};
  function tokenInput(token) {
    var L0 = layer[0], c = tokenIn[token];
    if (c) return c;
    c = new Float64Array(3 * H);
    for (var g = 0; g < 3 * H; g++) {
      if (D === 0) { c[g] = W[L0.wih + g * L0.inp + token]; continue; }
      var s = 0, row = L0.wih + g * L0.inp, e = emb + token * D;
      for (var d = 0; d < D; d++) s += W[row + d] * W[e + d];
      c[g] = s;
    }
    tokenIn[token] = c;
    return c;
  }

  // One step: the token's input, every layer's GRU update (r, z, n as torch.nn.GRU), the logits.
  function step(st, token) {
    var x = null;
    for (var l = 0; l < NL; l++) {
      var Ly = layer[l], h = st.h[l], gi = new Float64Array(3 * H), g, s, r, j;
      if (l === 0) {
        var ti = tokenInput(token);
        for (g = 0; g < 3 * H; g++) gi[g] = st.zc[g] + ti[g];
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
    if (!ids || typeof ids.length !== 'number' || typeof ids === 'string') throw new Error('swiftvae.nll: ids is an array of token ids (0…' + (V - 1) + ')');
    var targets = Array.prototype.slice.call(ids);
    targets.forEach(function (t, i) {
      if (!(Number.isInteger(t) && t >= 0 && t < V)) throw new Error('swiftvae.nll: ids[' + i + '] is ' + String(t) + ', not a token id 0…' + (V - 1));
    });
    targets.push(EOS);
    var st = start(z), tok = BOS, total = 0;
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
              mu: muOf, item: function (i) { return meta.items[i]; }, id: function (i) { return meta.ids[i]; }, errors: errors };
  window.swiftvae = api;

  // ---------------------------------------------------------------- the explorer
  function setupExplorer() {
    var origin = meta.padOrigin, axes = meta.padAxes;
    var ids = meta.ids;   // the items' lines in their file
    function posOf(v) { return placeOf(ids, v); }
    var z = N > 0 ? muOf(0) : new Array(K).fill(0);
    // an empty decoding (<eos> first) is said, not shown as a blank box
    function shown(t) { return t.length ? t : '(empty: <eos> first)'; }
    var padCtl = makePad({ canvas: el('vx-pad'), K: K, N: N, origin: origin, axes: axes, mu: muOf, minRange: 0.25,
                           colour: function () { return '#1f77b4'; },
                           getZ: function () { return z; },
                           setZ: function (nz) { z = nz; schedule(); },
                           onHover: function (i) { showHover(i); } });
    var outText = el('sx-out'), zline = el('vx-z');
    function render() {
      pending = false;
      outText.textContent = shown(decodeText(z));
      padCtl.draw();
      zline.textContent = 'z = (' + z.slice(0, 8).map(function (v) { return v.toFixed(2); }).join(', ') + (K > 8 ? ', …' : '') + ')';
    }
    var pending = false;
    function schedule() { if (!pending) { pending = true; requestAnimationFrame(render); } }
    function showHover(i) {
      if (i === padCtl.hovered() || i < 0) return;
      padCtl.setHovered(i);
      el('sx-hx').textContent = meta.items[i];
      el('sx-hr').textContent = shown(decodeText(muOf(i)));
      el('sx-hcap').textContent = 'test item ' + ids[i];
      schedule();
    }
    var ia = el('vx-ia'), ib = el('vx-ib'), tr = el('vx-t'), tv = el('vx-tv');
    function interpolate() {
      if (N === 0) return;
      var a = posOf(ia.value), b = posOf(ib.value), t = +tr.value;
      el('sx-a').textContent = meta.items[a]; el('sx-b').textContent = meta.items[b];
      el('sx-mid').textContent = shown(decodeText(mix(muOf(a), muOf(b), t)));
      tv.textContent = t.toFixed(2);
    }
    [ia, ib].forEach(function (e) { e.addEventListener('change', function () { e.value = ids[posOf(e.value)]; interpolate(); }); });
    tr.addEventListener('input', interpolate);
    if (N > 0) showHover(0);
    interpolate();
    render();

    // drives the controls as a reader would and reports what changed (for the self-test)
    api.exerciseUI = function () {
      var r = padCtl.exercise(0.9, 0.1);
      render();
      r.shownMatches = outText.textContent === decodeText(z);
      r.shown = outText.textContent;
      tr.value = 1; tr.dispatchEvent(new Event('input', { bubbles: true }));
      r.interpolationLabel = tv.textContent;
      r.interpolationEnd = el('sx-mid').textContent === decodeText(muOf(posOf(ib.value)));
      r.hoverCaption = el('sx-hcap').textContent;
      // the interpolation's inputs take an item's id (its line), and a number between two ids moves up to the next
      if (N > 1) {
        ia.value = ids[N - 1]; ia.dispatchEvent(new Event('change', { bubbles: true }));
        var exact = el('sx-a').textContent === meta.items[N - 1] && +ia.value === ids[N - 1];
        ia.value = ids[0] + 1; ia.dispatchEvent(new Event('change', { bubbles: true }));
        r.idInput = exact && el('sx-a').textContent === meta.items[1] && +ia.value === ids[1];
      } else r.idInput = true;
      // the page API refuses what it cannot read (it returned NaN, or "" for a z of NaN)
      var refuses = function (f) { try { f(); return false; } catch (e) { return /^Error: swiftvae/.test(String(e)); } };
      var zNaN = z.slice(); zNaN[0] = NaN;
      r.apiRefuses = refuses(function () { decodeText(zNaN); }) && refuses(function () { nll(z, [V]); })
        && refuses(function () { nll(z, [1.5]); }) && refuses(function () { nll(z, 'hello'); }) && refuses(function () { nll(z); })
        && isFinite(nll(z, new Int32Array([4, 5])));
      return r;
    };
  }

  try { setupExplorer(); } catch (e) { errors.push('explorer: ' + e); }
  api.readyMs = performance.now() - t0;

  // report.html#selftest=<URL-encoded JSON array of z>: greedy decodings, the first test items'
  // −log p(x | μ) and the controls driven as a reader would
  selfTest(function (zs) {
    var t1 = performance.now();
    var res = { latent: K, vocabulary: V, count: N, readyMs: api.readyMs, tokens: zs.map(decodeTokens), texts: zs.map(decodeText) };
    res.decodeMs = (performance.now() - t1) / Math.max(1, zs.length);
    res.nll = [];
    for (var i = 0; i < Math.min(3, N); i++) res.nll.push(nll(muOf(i), meta.itemTokens[i]));
    res.ui = api.exerciseUI ? api.exerciseUI() : null;
    return res;
  });
"""#

    static let css = """
    .sx-text { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 14px; overflow-wrap: anywhere;
      white-space: pre-wrap; margin: 2px 0 12px; min-height: 1.4em; }
    .sx-big { font-size: 18px; padding: 8px 10px; border: 1px solid #d0d7de; border-radius: 6px; background: #f6f8fa; }
    .sx-label { color: #57606a; font-size: 13px; margin: 0; }
    table.sx-interp th { text-align: left; font-weight: normal; color: #57606a; padding-right: 12px; white-space: nowrap; }

    """
}
